/* Container terminals: the pty created inside the container, handing its
 * master to a console socket (conmon, containerd's shim), and the relay
 * that `run -t` uses when nobody else holds the master. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/process.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

int ward_terminal_setup_in_init (const ward_process_t *process, int *master_fd,
                                 ward_error_t **err)
{
  _cleanup_close_ int master = -1;
  _cleanup_close_ int slave = -1;
  char name[64];
  int ret;

  /* Relative to the current root: after pivot_root this is the container's
   * devpts instance, so the pty belongs to the container. */
  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return ward_error_set (err, errno, "open '/dev/ptmx'");
  if (unlockpt (master) < 0)
    return ward_error_set (err, errno, "unlockpt");
  if ((ret = ptsname_r (master, name, sizeof name)) != 0)
    return ward_error_set (err, ret, "ptsname");
  /* TIOCGPTPEER opens the peer without a path look-up (no symlink games in
   * /dev/pts); fall back to the name on kernels before 4.13. */
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return ward_error_set (err, errno, "open pty slave '%s'", name);
  if (process && process->has_console_size)
    {
      struct winsize ws = { .ws_row = (unsigned short) process->console_height,
                            .ws_col = (unsigned short) process->console_width };
      if (ioctl (slave, TIOCSWINSZ, &ws) < 0)
        return ward_error_set (err, errno, "set console size %ux%u",
                               (unsigned) process->console_width,
                               (unsigned) process->console_height);
    }
  if (mount (name, "/dev/console", NULL, MS_BIND, NULL) < 0)
    {
      _cleanup_close_ int fd = -1;
      /* The rootfs code normally leaves an empty file there; make one if not. */
      if (errno != ENOENT
          || (fd = open ("/dev/console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                         0600)) < 0
          || mount (name, "/dev/console", NULL, MS_BIND, NULL) < 0)
        return ward_error_set (err, errno, "bind mount '%s' on '/dev/console'", name);
    }
  /* The init is not a group leader after clone, so setsid works; EPERM
   * means we already lead a session, which is just as good. */
  if (setsid () < 0 && errno != EPERM)
    return ward_error_set (err, errno, "setsid");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return ward_error_set (err, errno, "make '%s' the controlling terminal", name);
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      return ward_error_set (err, errno, "dup2 pty slave to fd %d", fd);
  *master_fd = TAKE_FD (master);
  return 0;
}

/* connect(2) to a unix socket path; paths longer than sun_path are reached
 * through an O_PATH fd on their directory. */
static int connect_unix (const char *path, ward_error_t **err)
{
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  _cleanup_close_ int dirfd = -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  const char *target = path;
  char buf[sizeof addr.sun_path];

  if (fd < 0)
    return ward_error_set (err, errno, "socket");
  if (strlen (path) >= sizeof addr.sun_path)
    {
      _cleanup_free_ char *dir = xstrdup (path);
      char *slash = strrchr (dir, '/');
      if (slash == NULL)
        return ward_error_set (err, ENAMETOOLONG, "connect '%s'", path);
      *slash = '\0';
      dirfd = open (dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        return ward_error_set (err, errno, "open '%s'", dir);
      snprintf (buf, sizeof buf, "/proc/self/fd/%d/%s", dirfd, slash + 1);
      if (strlen (buf) >= sizeof addr.sun_path - 1)
        return ward_error_set (err, ENAMETOOLONG, "connect '%s'", path);
      target = buf;
    }
  memcpy (addr.sun_path, target, strlen (target) + 1);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return ward_error_set (err, errno, "connect '%s'", path);
  return TAKE_FD (fd);
}

int ward_process_send_fd (int sock, int fd, const void *payload, size_t len, ward_error_t **err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = (void *) payload, .iov_len = len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c;
  char zero = '\0';

  /* A message with fds needs at least one byte of data. */
  if (len == 0)
    {
      iov.iov_base = &zero;
      iov.iov_len = 1;
    }
  memset (&u, 0, sizeof u);
  c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof (int));
  for (;;)
    {
      ssize_t r = sendmsg (sock, &msg, MSG_NOSIGNAL);
      if (r >= 0)
        break;
      if (errno != EINTR)
        return ward_error_set (err, errno, "sendmsg fd %d", fd);
    }
  return 0;
}

int ward_process_send_fd_to_path (const char *path, int fd, const void *payload, size_t len,
                               ward_error_t **err)
{
  _cleanup_close_ int sock = connect_unix (path, err);
  int ret;

  if (sock < 0)
    return sock;
  ret = ward_process_send_fd (sock, fd, payload, len, err);
  if (ret < 0)
    return ward_error_wrap (err, "send to '%s'", path);
  return 0;
}

int ward_terminal_send_to_socket (const char *socket_path, int master_fd, ward_error_t **err)
{
  char name[64];

  /* runc sends the terminal's name as the message data beside the fd. */
  if (ptsname_r (master_fd, name, sizeof name) != 0)
    snprintf (name, sizeof name, "/dev/ptmx");
  return ward_process_send_fd_to_path (socket_path, master_fd, name, strlen (name), err);
}

/* ---- relay ------------------------------------------------------------- */

static void copy_winsize (int from, int to)
{
  struct winsize ws;
  if (ioctl (from, TIOCGWINSZ, &ws) == 0)
    (void) ioctl (to, TIOCSWINSZ, &ws);
}

typedef struct
{
  bool active;
  struct termios saved;
} tty_state_t;

static void tty_restore (tty_state_t *t)
{
  if (t->active)
    tcsetattr (STDIN_FILENO, TCSANOW, &t->saved);
}

typedef struct
{
  bool active;
  sigset_t old;
} sigmask_state_t;

static void sigmask_restore (sigmask_state_t *s)
{
  if (s->active)
    sigprocmask (SIG_SETMASK, &s->old, NULL);
}

/* Returns 1 when the source is finished (EOF/EIO), 0 otherwise. */
static int pump (int from, int to, ward_error_t **err)
{
  char buf[8192];
  ssize_t n = read (from, buf, sizeof buf);

  if (n < 0)
    {
      if (errno == EINTR || errno == EAGAIN)
        return 0;
      /* The master reads EIO once every slave fd is closed. */
      if (errno == EIO)
        return 1;
      return ward_error_set (err, errno, "read terminal fd %d", from);
    }
  if (n == 0)
    return 1;
  if (ward_write_all (to, buf, (size_t) n) < 0)
    return ward_error_set (err, errno, "write terminal fd %d", to);
  return 0;
}

int ward_terminal_relay (int master_fd, ward_error_t **err)
{
  __attribute__ ((cleanup (tty_restore))) tty_state_t tty = { 0 };
  __attribute__ ((cleanup (sigmask_restore))) sigmask_state_t mask = { 0 };
  _cleanup_close_ int sfd = -1;
  bool stdin_open = true;
  sigset_t winch;

  /* SIGWINCH is caught before the first size copy so that no resize
   * falls between the two. */
  sigemptyset (&winch);
  sigaddset (&winch, SIGWINCH);
  if (sigprocmask (SIG_BLOCK, &winch, &mask.old) == 0)
    {
      mask.active = true;
      sfd = signalfd (-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
    }
  if (isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &tty.saved) == 0)
    {
      struct termios raw = tty.saved;
      cfmakeraw (&raw);
      if (tcsetattr (STDIN_FILENO, TCSANOW, &raw) < 0)
        return ward_error_set (err, errno, "put the terminal in raw mode");
      tty.active = true;
      copy_winsize (STDIN_FILENO, master_fd);
    }

  for (;;)
    {
      struct pollfd pfd[3] = {
        { .fd = master_fd, .events = POLLIN },
        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
        { .fd = sfd, .events = POLLIN },
      };
      int r = poll (pfd, 3, -1);

      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return ward_error_set (err, errno, "poll");
        }
      if (pfd[2].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof si) == sizeof si)
            ;
          if (tty.active)
            copy_winsize (STDIN_FILENO, master_fd);
        }
      if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
        {
          r = pump (STDIN_FILENO, master_fd, err);
          if (r < 0)
            return r;
          if (r == 1)
            stdin_open = false;
        }
      if (pfd[0].revents & POLLIN)
        {
          r = pump (master_fd, STDOUT_FILENO, err);
          if (r < 0)
            return r;
          if (r == 1)
            return 0;
        }
      else if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
        return 0;
    }
}
