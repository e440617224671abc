# session fragment (see Makefile.am)
