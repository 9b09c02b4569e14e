// resizebench: interpolate on a (1, 3, 512, 512) image, forward and backward, for every mode, 2x up
// and 2x down (antialiased too). One JSON line per case with the median of --reps runs in ms.
//
//   OMP_NUM_THREADS=1 build/bin/resizebench [--reps 9]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/ops_interpolate.h"
#include "core/factory.h"
#include "core/random.h"

using namespace convgrad;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 9;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
  Generator gen(0);
  Tensor image = randn({1, 3, 512, 512}, gen);
  struct Case {
    const char* name;
    InterpolateMode mode;
    bool antialias;
  };
  const Case cases[] = {
      {"nearest", InterpolateMode::Nearest, false},     {"bilinear", InterpolateMode::Bilinear, false},
      {"bicubic", InterpolateMode::Bicubic, false},     {"area", InterpolateMode::Area, false},
      {"bilinear_aa", InterpolateMode::Bilinear, true}, {"bicubic_aa", InterpolateMode::Bicubic, true}};
  for (const Case& c : cases)
    for (double factor : {2.0, 0.5}) {
      std::vector<double> fwd, bwd;
      for (int r = 0; r < reps; ++r) {
        Tensor x = image.detach();
        x.set_requires_grad();
        auto t0 = std::chrono::steady_clock::now();
        Tensor y =
            interpolate(x, InterpolateOptions().scale_factor(factor).mode(c.mode).antialias(c.antialias));
        fwd.push_back(ms_since(t0));
        Tensor g = ones(y.shape());
        t0 = std::chrono::steady_clock::now();
        y.backward(g);
        bwd.push_back(ms_since(t0));
      }
      std::printf(
          "{\"mode\": \"%s\", \"scale\": %g, \"input\": [1, 3, 512, 512], \"forward_ms\": %.3f, "
          "\"backward_ms\": %.3f}\n",
          c.name, factor, median(fwd), median(bwd));
    }
  return 0;
}
