# ward: the docker-compatible, daemonless front end (argv parsing and output).
bin_PROGRAMS += ward
ward_SOURCES = cli/docker/main.c cli/docker/cli.h cli/docker/common.c cli/docker/images.c \
	cli/docker/volume.c cli/docker/containers.c \
	cli/docker/flags.c cli/docker/flags.h cli/docker/template.c cli/docker/template.h
ward_SOURCES += cli/docker/network.c
ward_LDADD = $(WARD_IMAGE_LIBS) $(WARD_NET_LIBS) $(WARD_LIBS) -lpthread
EXTRA_DIST += cli/docker/smoke.sh

# `make install` leaves a usable busybox image: the installed ward imports
# it from the host's static busybox (Debian: busybox-static).  Skipped for
# staged installs (DESTDIR), which must not write the host's image store.
install-exec-hook: install-ward-default-image
install-ward-default-image:
	@if test -n "$(DESTDIR)"; then \
	  echo "ward: DESTDIR set, not importing the default busybox image"; \
	elif test -x /bin/busybox && /bin/busybox --list >/dev/null 2>&1; then \
	  $(bindir)/ward image-import-default /bin/busybox; \
	else \
	  echo "ward: /bin/busybox not found (apt-get install busybox-static): no default busybox image imported"; \
	fi
.PHONY: install-ward-default-image

# ward.service: `ward start --all` at boot (restart policies across reboots).
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = cli/docker/ward.service
CLEANFILES += cli/docker/ward.service
EXTRA_DIST += cli/docker/ward.service.in
cli/docker/ward.service: $(srcdir)/cli/docker/ward.service.in
	$(AM_V_GEN)$(MKDIR_P) cli/docker && sed -e 's|[@]bindir[@]|$(bindir)|g' $(srcdir)/cli/docker/ward.service.in >$@
