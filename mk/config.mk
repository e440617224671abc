# config fragment (see Makefile.am)
