// upsample: a toy x2 super-resolution. Synthetic images are shrunk by 2x2 averaging; a small
// Conv/ConvTranspose model learns to restore them and is compared with nearest and bilinear
// upsampling (both written as fixed transposed convolutions). --checkerboard shows why a transposed
// conv whose kernel is not divisible by its stride leaves a checkerboard pattern.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>

#include "checkerboard.h"
#include "cli_checks.h"
#include "core/threading.h"
#include "runtime.h"
#include "training.h"

using namespace convgrad;
using namespace convgrad::upsample;

int main(int argc, char** argv) {
  CLI::App app{"upsample: learn x2 super-resolution with a bilinear-initialised transposed conv (convgrad example)"};
  RunConfig c;
  bool checkerboard = false;
  app.add_option("--steps", c.steps, "Adam steps")->check(example::at_least(1))->capture_default_str();
  app.add_option("--batch", c.batch, "images per step")->check(example::at_least(1))->capture_default_str();
  app.add_option("--lr", c.lr, "Adam learning rate (cosine decay to 0)")
      ->check(example::positive())->capture_default_str();
  app.add_option("--threads", c.threads, "threads for every kernel")
      ->check(example::at_least(1))->capture_default_str();
  app.add_option("--seed", c.seed, "seed of the images and of the initial weights")->capture_default_str();
  app.add_option("--eval-images", c.eval_images, "held-out images")->check(example::at_least(1))->capture_default_str();
  app.add_option("--out", c.out, "folder for the PNG pictures")->capture_default_str();
  app.add_flag("--checkerboard", checkerboard,
               "demonstrate checkerboard artefacts: k3 s2 vs k4 s2 transposed convs, learned from scratch");
  CLI11_PARSE(app, argc, argv);
  try {
    set_num_threads(c.threads);
    if (std::string hint = example::busy_machine_hint(c.threads); !hint.empty()) fmt::print("{}\n", hint);
    std::filesystem::create_directories(c.out);
    return checkerboard ? run_checkerboard(c) : run_super_resolution(c);
  } catch (const std::exception& e) {
    fmt::print(stderr, "upsample: error: {}\n", e.what());
    return 1;
  }
}
