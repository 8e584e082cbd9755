#pragma once
#include <cstdint>

// Keep the permitted capabilities when this thread's uids change from root: 0 or -errno.
int keepCapabilitiesOnSetuid();
// Effective = permitted = inheritable = `mask`, and each raised in the ambient set: 0 or -errno.
int setCapabilities(uint64_t mask);
// Raises this process's open-file soft limit to its hard limit: the new soft limit, or -errno.
long raiseFileLimit();
// uid and gid of `user` (a name, or a numeric uid) through the system's user database
// (NSS: /etc/passwd, LDAP, sssd, ...): 0, -ENOENT when there is no such user, or -errno.
int lookupUser(const char* user, int32_t* uid, int32_t* gid);
