# it-api fragment (see Makefile.am): integration tests of the request path
