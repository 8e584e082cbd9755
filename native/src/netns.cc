#include "netns.h"

#include <cerrno>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

int openInNamespace(const char* netnsPath, const std::function<int()>& open) {
  if (netnsPath[0] == '\0') return open();
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = ::open(netnsPath, O_RDONLY | O_CLOEXEC);
  int fd;
  if (self < 0 || target < 0) {
    fd = -errno;
  } else if (setns(target, CLONE_NEWNET) < 0) {
    fd = -errno;
  } else {
    fd = open();
    setns(self, CLONE_NEWNET);  // back home
  }
  if (self >= 0) close(self);
  if (target >= 0) close(target);
  return fd;
}
