// convbench: the three convolution ops of every shape in a shapes file, timed through convgrad's public
// API on plain NCHW tensors (output allocation and layout conversions included), one JSON line each,
// in the schema of ../shared/bench/torch_convbench.py and onednn_primitive_bench.cpp.
//
//   OMP_NUM_THREADS=2 build/bin/convbench [--backend onednn] [--threads 2] [--only a,b] [--shapes FILE]
//                                         [--dtype fp32|bf16]
//
// What each op times (what autograd runs for that op):
//   conv  fwd          conv2d(x, w)                             (functional API, output allocated)
//         bwd_data     dx = uninitialized; conv_backward_data(dy, w, dx)  (the input gradient of conv2d)
//         bwd_weights  dw = uninitialized; conv_backward_weights(x, dy, dw)
//   convT fwd          conv_transpose2d(x, w)                   (conv_backward_data in the conv view)
//         bwd_data     dx = uninitialized; conv_forward(dy, w, dx)  (the input gradient of conv_transpose2d)
//         bwd_weights  dw = uninitialized; conv_backward_weights(dy, x, dw)
// Every call converts its operands afresh (no ConvCaches): what one call of the public API costs.
// --dtype bf16: fwd runs under AutocastGuard (so it rounds x and w to bfloat16 each call), the backward
// kernels take operands already holding bfloat16 values with ConvParams::compute = BFloat16; outputs
// are float32 (docs/mixed-precision.md).
// FLOPs as shapes.txt defines them: 2 * N*Cout*OH*OW*Cin*k*k (conv), 2 * N*Cin*H*W*Cout*k*k (convT).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/grad_mode.h"
#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/conv_geometry.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"

using namespace convgrad;

namespace {

struct BenchShape {
  std::string name, kind;
  int64_t N, Ci, H, W, Co, k, s, p, op;
};

std::vector<BenchShape> read_shapes(const std::string& path) {
  std::ifstream in(path);
  CONVGRAD_CHECK(bool(in), "convbench: cannot open the shapes file '{}' (pass --shapes FILE)", path);
  std::vector<BenchShape> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    BenchShape s;
    if (ss >> s.name >> s.kind >> s.N >> s.Ci >> s.H >> s.W >> s.Co >> s.k >> s.s >> s.p >> s.op)
      out.push_back(s);
  }
  return out;
}

// Median of repeated runs after one warm-up: at least 3, at most 50, about `budget` seconds.
double median_s(const std::function<void()>& f, double budget) {
  using Clock = std::chrono::steady_clock;
  f();
  std::vector<double> ts;
  const auto start = Clock::now();
  while (ts.size() < 50 &&
         (ts.size() < 3 || std::chrono::duration<double>(Clock::now() - start).count() < budget)) {
    const auto t = Clock::now();
    f();
    ts.push_back(std::chrono::duration<double>(Clock::now() - t).count());
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

// The implementation the backend reports for one call (its verbose line after the colon).
std::string kernel_of(const std::function<void()>& f) {
  std::string impl;
  set_verbose(true);
  set_verbose_sink([&](const std::string& line) {
    size_t at = line.rfind(": ");
    size_t arrow = line.find(" -> ");
    impl = arrow != std::string::npos ? line.substr(arrow + 4)
           : at != std::string::npos  ? line.substr(at + 2)
                                      : line;
    if (impl.size() > 9 && impl.ends_with(" (cached)")) impl.resize(impl.size() - 9);
  });
  f();
  set_verbose(false);
  set_verbose_sink(nullptr);
  return impl.empty() ? current_backend() : impl;  // the reference backend reports nothing
}

std::string json_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void bench_shape(const BenchShape& b, const std::string& backend, double budget, bool bf16) {
  const bool t = b.kind == "convT";
  CONVGRAD_CHECK(t || b.kind == "conv", "convbench: shape '{}' has kind '{}', expected conv or convT", b.name,
                 b.kind);
  Generator gen(0);
  // bfloat16: the values the backward kernels read are bfloat16 values (as autocast rounds them).
  auto operand = [&](const Shape& shape) {
    Tensor r = randn(shape, gen);
    return bf16 ? r.to(DType::BFloat16).to(DType::Float32) : r;
  };
  Tensor x = operand({b.N, b.Ci, b.H, b.W});
  Tensor w = operand(t ? Shape{b.Ci, b.Co, b.k, b.k} : Shape{b.Co, b.Ci, b.k, b.k});
  ConvShapes view;
  std::function<Tensor()> fwd;
  if (t) {
    auto o = ConvTranspose2dFuncOptions().stride(b.s).padding(b.p).output_padding(b.op);
    view = conv_transpose2d_geometry(x.shape(), w.shape(), {}, false, o);
    fwd = [=] {
      AutocastGuard autocast(DType::BFloat16, bf16);
      return conv_transpose2d(x, w, Tensor(), o);
    };
  } else {
    auto o = Conv2dFuncOptions().stride(b.s).padding(b.p);
    view = conv2d_geometry(x.shape(), w.shape(), {}, false, o);
    fwd = [=] {
      AutocastGuard autocast(DType::BFloat16, bf16);
      return conv2d(x, w, Tensor(), o);
    };
  }
  const Tensor y = fwd();
  const Tensor gy = operand(y.shape());
  ConvParams p = view.params;
  if (bf16) p.compute = DType::BFloat16;
  std::function<void()> ops[3];
  ops[0] = [&] { fwd(); };
  if (t) {
    ops[1] = [&] { conv_forward(gy, w, Tensor(), uninitialized(x.shape()), p); };
    ops[2] = [&] { conv_backward_weights(gy, x, uninitialized(w.shape()), Tensor(), p); };
  } else {
    ops[1] = [&] { conv_backward_data(gy, w, Tensor(), uninitialized(x.shape()), p); };
    ops[2] = [&] { conv_backward_weights(x, gy, uninitialized(w.shape()), Tensor(), p); };
  }
  const double macs =
      t ? double(b.N) * b.Ci * b.H * b.W * b.Co * b.k * b.k : double(y.numel()) * b.Ci * b.k * b.k;
  const char* names[3] = {"fwd", "bwd_data", "bwd_weights"};
  for (int i = 0; i < 3; ++i) {
    const std::string kernel = kernel_of(ops[i]);
    const double sec = median_s(ops[i], budget);
    std::printf(
        "{\"impl\": \"convgrad-%s\", \"shape\": \"%s\", \"op\": \"%s\", \"dtype\": \"%s\", \"threads\": %d, "
        "\"ms\": %.4f, \"gflops\": %.2f, \"kernel\": \"%s\"}\n",
        backend.c_str(), b.name.c_str(), names[i], bf16 ? "bf16" : "fp32", get_num_threads(), sec * 1e3,
        2 * macs / sec / 1e9, json_escape(kernel).c_str());
    std::fflush(stdout);
  }
}

// Whether `name` is one of the comma-separated names in `list`.
bool listed(const std::string& list, const std::string& name) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    if (list.compare(start, end - start, name) == 0) return true;
    start = end + 1;
  }
  return false;
}

const char* kUsage =
    "usage: convbench [--backend NAME] [--threads N] [--only NAME,NAME] [--shapes FILE] [--budget SECONDS]\n"
    "                 [--dtype fp32|bf16]\n";

}  // namespace

int main(int argc, char** argv) {
  std::string backend, only, shapes = CONVGRAD_BENCH_SHAPES, dtype = "fp32";
  int threads = 0;
  double budget = 1.0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "convbench: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--backend")
      backend = value();
    else if (a == "--threads")
      threads = std::atoi(value().c_str());
    else if (a == "--only")
      only = value();
    else if (a == "--shapes")
      shapes = value();
    else if (a == "--budget")
      budget = std::atof(value().c_str());
    else if (a == "--dtype")
      dtype = value();
    else {
      std::fprintf(stderr, "%s", kUsage);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (dtype != "fp32" && dtype != "bf16") {
    std::fprintf(stderr, "convbench: --dtype must be fp32 or bf16, got '%s'\n%s", dtype.c_str(), kUsage);
    return 2;
  }
  try {
    if (threads > 0) set_num_threads(threads);
    if (!backend.empty()) set_backend(backend);
    backend = current_backend();
    NoGradGuard no_grad;
    for (const BenchShape& s : read_shapes(shapes))
      if (only.empty() || listed(only, s.name)) bench_shape(s, backend, budget, dtype == "bf16");
  } catch (const Error& e) {
    std::fprintf(stderr, "convbench: %s\n", e.what());
    return 1;
  }
  return 0;
}
