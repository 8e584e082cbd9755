{
  "targets": [
    {
      "target_name": "pspat_native",
      "sources": ["src/addon.cc", "src/af_xdp.cc", "src/af_packet.cc", "src/peer_cred.cc", "src/stamp_sink.cc", "src/capture.cc", "src/netns.cc", "src/privileges.cc", "src/iface.cc", "src/placement.cc", "src/futex.cc", "src/divert.cc", "src/xsk_capture.cc", "src/ring_capture.cc", "src/netlink.cc", "src/udp_flood.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "libraries": ["-lbpf"]
    }
  ]
}
