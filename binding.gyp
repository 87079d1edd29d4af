# Native part of hpcnet. Two addons, so a host with only one set of system
# libraries can still build and use the other part:
#   hpcnet_ib   - libibumad (transport) + libibmad (MAD encoding, field tables)
#   hpcnet_lnet - libnl-genl-3 (generic netlink) + libkmod (kernel modules)
# When pkg-config cannot find a part's libraries, that addon is built from
# native/common/unavailable.cc instead: it loads, reports what is missing,
# and lib/native/loader.ts turns that into a clear error on live use.
{
  "variables": {
    "has_ib%": "<!(pkg-config --exists libibumad libibmad && echo 1 || echo 0)",
    "has_lnet%": "<!(pkg-config --exists libnl-genl-3.0 libkmod && echo 1 || echo 0)",
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
    "defines": ["NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
  },
  "targets": [
    {
      "target_name": "hpcnet_ib",
      "conditions": [
        ["has_ib==1", {
          "sources": [
            "native/ib/addon.cc",
            "native/ib/cas.cc",
            "native/ib/mad_port.cc",
          ],
          "defines": [
            "HPCNET_IBUMAD_VERSION=\"<!(pkg-config --modversion libibumad)\"",
            "HPCNET_IBMAD_VERSION=\"<!(pkg-config --modversion libibmad)\"",
          ],
          "cflags_cc": ["<!@(pkg-config --cflags libibumad libibmad)"],
          "libraries": ["<!@(pkg-config --libs libibumad libibmad)", "-lpthread"],
        }, {
          "sources": ["native/common/unavailable.cc"],
          "defines": ["HPCNET_ADDON_NAME=hpcnet_ib", "HPCNET_MISSING=\"libibumad and libibmad (Debian: apt-get install libibumad-dev libibmad-dev)\""],
        }],
      ],
    },
    {
      "target_name": "hpcnet_lnet",
      "conditions": [
        ["has_lnet==1", {
          "sources": [
            "native/lnet/addon.cc",
            "native/lnet/handle.cc",
            "native/lnet/structs.cc",
          ],
          "cflags_cc": ["<!@(pkg-config --cflags libnl-genl-3.0 libkmod)"],
          "libraries": ["<!@(pkg-config --libs libnl-genl-3.0 libkmod)", "-lpthread"],
        }, {
          "sources": ["native/common/unavailable.cc"],
          "defines": ["HPCNET_ADDON_NAME=hpcnet_lnet", "HPCNET_MISSING=\"libnl-genl-3 and libkmod (Debian: apt-get install libnl-genl-3-dev libkmod-dev)\""],
        }],
      ],
    },
  ],
  "conditions": [
    # The LNet kernel emulator's LD_PRELOAD library interposes glibc calls: Linux only.
    ["OS=='linux'", {
      "targets": [
        {
          # LNet kernel emulator: LD_PRELOAD library (plain C, no Node, no addon API).
          "target_name": "hpcnet_lnetemu_preload",
          "type": "shared_library",
          "sources": ["native/lnet-emu/preload.c"],
          "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-format-truncation", "-fvisibility=hidden", "-fPIC"],
          "libraries": ["-ldl", "-lpthread"],
        },
      ],
    }],
  ],
}
