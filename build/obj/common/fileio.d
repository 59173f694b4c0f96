build/obj/common/fileio.o: common/fileio.c common/fileio.h
common/fileio.h:
