{
  "targets": [
    {
      "target_name": "ssd_native",
      "sources": ["ssd_native.cc", "winograd.cc", "prep.cc"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fopenmp", "-ffp-contract=off"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-lgomp"]
    }
  ]
}
