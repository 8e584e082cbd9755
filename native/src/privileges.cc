// Dropping root while keeping the capabilities pspat needs (`pspat daemon --user`).
// Capabilities belong to threads: these act on the calling (main) thread, before it
// starts the threads that open ports, which inherit its set. The ambient set carries
// the kept capabilities across exec into the `ip` and `tc` the daemon runs.
#include "privileges.h"

#include <cerrno>
#include <cstdlib>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

int keepCapabilitiesOnSetuid() {
  return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int setCapabilities(uint64_t mask) {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; i++) {
    uint32_t word = uint32_t(mask >> (32 * i));
    data[i].effective = data[i].permitted = data[i].inheritable = word;
  }
  if (syscall(SYS_capset, &header, data) < 0) return -errno;
  for (int cap = 0; cap < 64; cap++) {
    if (!(mask >> cap & 1)) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return -errno;
  }
  return 0;
}

long raiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) < 0) return -errno;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) < 0) return -errno;
  return long(lim.rlim_cur);
}

int lookupUser(const char* user, int32_t* uid, int32_t* gid) {
  passwd pw{};
  passwd* found = nullptr;
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? size_t(hint) : 16384);
  char* end = nullptr;
  unsigned long n = strtoul(user, &end, 10);
  bool numeric = *user != '\0' && *end == '\0';
  for (;;) {
    int r = numeric ? getpwuid_r(uid_t(n), &pw, buf.data(), buf.size(), &found) : getpwnam_r(user, &pw, buf.data(), buf.size(), &found);
    if (r == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (r != 0) return -r;
    if (!found) return -ENOENT;
    *uid = int32_t(pw.pw_uid);
    *gid = int32_t(pw.pw_gid);
    return 0;
  }
}
