# store fragment (see Makefile.am)
