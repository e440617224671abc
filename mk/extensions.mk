# extensions fragment (see Makefile.am)
