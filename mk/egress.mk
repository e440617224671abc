# egress fragment (see Makefile.am)
