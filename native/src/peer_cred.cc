// Peer credentials of a connected Unix-domain socket (SO_PEERCRED): the daemon's control
// socket admits only root. The policy lives in TypeScript (src/daemon/control-socket.ts).
#include "peer_cred.h"

#include <sys/socket.h>
#include <cerrno>

int peerCredentials(int fd, int32_t out[3]) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -errno;
  out[0] = cred.pid;
  out[1] = static_cast<int32_t>(cred.uid);
  out[2] = static_cast<int32_t>(cred.gid);
  return 0;
}
