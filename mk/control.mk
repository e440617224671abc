# control fragment (see Makefile.am)
