#pragma once
#include <cstdint>

// Fills out[0..2] with the peer's pid, uid, gid; 0 on success, -errno on failure.
int peerCredentials(int fd, int32_t out[3]);
