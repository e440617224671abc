# ipc fragment (see Makefile.am)
