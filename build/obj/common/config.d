build/obj/common/config.o: common/config.c common/config.h \
 common/fileio.h
common/config.h:
common/fileio.h:
