# The pod sandbox image: a static pause program (image/pause/pause.c) made
# into the OCI image "pause:latest" by mkimage.sh, so a pod needs no
# registry.  It builds without the project's sanitizer flags (a static
# binary cannot link ASan) and installs as $(pkgdatadir)/pause.tar.
noinst_PROGRAMS += image/pause/ward-pause
image_pause_ward_pause_SOURCES = image/pause/pause.c
image_pause_ward_pause_CFLAGS = -Wall -Wextra $(filter -Werror,$(WARD_CFLAGS))
image_pause_ward_pause_LDFLAGS = -static -s

nodist_pkgdata_DATA = image/pause/pause.tar
CLEANFILES += image/pause/pause.tar
EXTRA_DIST += image/pause/mkimage.sh
image/pause/pause.tar: image/pause/ward-pause$(EXEEXT) $(srcdir)/image/pause/mkimage.sh
	$(AM_V_GEN)$(SHELL) $(srcdir)/image/pause/mkimage.sh image/pause/ward-pause$(EXEEXT) $@.tmp pause:latest \
	  && mv $@.tmp $@

# `make install` also loads the pause image into the host's ward store, as
# it does busybox (not for staged DESTDIR installs).
install-exec-hook: install-ward-pause-image
install-ward-pause-image: image/pause/pause.tar
	@if test -n "$(DESTDIR)"; then \
	  echo "ward: DESTDIR set, not loading the pause image"; \
	else \
	  $(bindir)/ward load -i image/pause/pause.tar; \
	fi
.PHONY: install-ward-pause-image
