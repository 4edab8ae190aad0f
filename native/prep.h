// Training-sample preparation in native code: crop, resize, flip, photometric distortion and normalisation of one
// decoded 8-bit image into the model's float input, byte for byte what lib/data's sharp + JavaScript path gives
// (sharp 0.34.5 / libvips 8.17 resize "fill" with lanczos3, then lib/data/augment.ts applyPhotometric and
// lib/data/image.ts normalize). The loader calls it for a whole micro-batch at once, between training steps, with
// the images spread over the OpenMP threads, so nothing competes with the model's threads while they run.
#pragma once
#include <cstdint>

namespace prep {

// One sample: the decoded source (row-major, `channels` bytes a pixel: 1 = grey, 3 = RGB), the crop in its pixels
// (the whole image when cw or ch is 0), the flip and the photometric parameters of lib/data/augment.ts.
struct Sample {
  const uint8_t* src;
  int width, height, channels;
  int cx, cy, cw, ch;
  bool flip;
  double brightness, contrast, saturation, hue;
};

// Resizes interleaved 8-bit pixels (`bands` values a pixel, rows `stride` bytes apart) to outW x outH without
// keeping the aspect ratio, as libvips' vips_resize does for sharp's resize(w, h, { fit: "fill" }).
void resizeFill(const uint8_t* src, int width, int height, int stride, int bands, int outW, int outH, uint8_t* out);

// lib/data/augment.ts applyPhotometric on `pixels` RGB pixels, in place, with the same double arithmetic.
void photometric(uint8_t* rgb, int64_t pixels, double brightness, double contrast, double saturation, double hue);

// Whether the photometric step may use its AVX2 form where the CPU has AVX2 (default on; the same bytes, tests
// compare the two). Returns the previous setting.
bool setVector(bool on);

// Prepares one sample into outW x outH x 3 bytes (`bytes`, when not null) and floats x / 255 - 0.5 (`floats`,
// when not null). Throws std::invalid_argument naming the problem when the crop or sizes do not fit.
void prepare(const Sample& s, int outW, int outH, uint8_t* bytes, float* floats);

}  // namespace prep
