build/obj/tools/pressroom-broker/main.o: tools/pressroom-broker/main.c \
 common/config.h common/log.h
common/config.h:
common/log.h:
