# The one native addon: src/native/hci_socket.c (Linux HCI user channel). Built by
# `npm run build:native` (scripts/build-native.mjs), which also copies it to
# prebuilds/<platform>-<arch>/ where src/native/load.ts finds it. Linux only: elsewhere the
# target is empty and the transport reports that it is unavailable.
{
  "targets": [
    {
      "target_name": "hcikit_hci_socket",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["src/native/hci_socket.c"],
          "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
          "defines": ["NAPI_VERSION=8"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
