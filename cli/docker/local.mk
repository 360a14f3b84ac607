bin_PROGRAMS += ward
ward_SOURCES = cli/docker/main.c
ward_LDADD = $(WARD_LIBS)
