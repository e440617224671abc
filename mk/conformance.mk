# conformance fragment (see Makefile.am)
