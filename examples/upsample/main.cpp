// upsample: super-resolution with convgrad.
//   upsample train --images DIR --save FILE ...   train FSRCNN / ESPCN / a transposed-conv model on photos
//   upsample eval --load FILE --images DIR        PSNR / SSIM next to bicubic and bilinear
//   upsample apply --load FILE IN... --out DIR    upscale whole images (tiled) into PNGs
// Without a subcommand it runs the toy x2 demonstration: synthetic images are shrunk by 2x2 averaging
// and a small Conv/ConvTranspose model learns to restore them, compared with nearest and bilinear
// upsampling (both written as fixed transposed convolutions); --checkerboard shows why a transposed
// conv whose kernel is not divisible by its stride leaves a checkerboard pattern.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "checkerboard.h"
#include "cli_checks.h"
#include "core/threading.h"
#include "runtime.h"
#include "sr_apply.h"
#include "sr_eval.h"
#include "sr_train.h"
#include "training.h"

using namespace convgrad;
using namespace convgrad::upsample;

namespace {

void add_train_options(CLI::App& sub, TrainConfig& t, bool& rgb) {
  sub.add_option("--images", t.images,
                 "folder of training photographs (PNG, JPEG, uint8 .npy; searched recursively)")
      ->required();
  sub.add_option("--val-images", t.val_images, "folder of held-out photographs for the validation curve");
  sub.add_option("--save", t.save, "checkpoint to write (.npz with the model's metadata)")->required();
  sub.add_option("--model", t.model.arch, "fsrcnn, espcn or tconv")
      ->check(CLI::IsMember({"fsrcnn", "espcn", "tconv"}))
      ->capture_default_str();
  sub.add_option("--scale", t.model.scale, "upscaling factor")
      ->check(CLI::IsMember({2, 3, 4}))
      ->capture_default_str();
  sub.add_flag("--residual,!--no-residual", t.model.residual,
               "add bicubic upscaling of the input: the network predicts the residual (on by default)");
  sub.add_flag("--rgb", rgb, "train on RGB instead of the Y channel (BT.601 luma, as the papers)");
  sub.add_option("--crop", t.crop, "high-resolution crop side (a multiple of --scale)")
      ->check(example::at_least(2))
      ->capture_default_str();
  sub.add_option("--batch", t.batch, "crops per step")->check(example::at_least(1))->capture_default_str();
  sub.add_option("--steps", t.steps, "Adam steps")->check(example::at_least(1))->capture_default_str();
  sub.add_option("--lr", t.lr, "Adam learning rate (cosine decay to 0)")
      ->check(example::positive())
      ->capture_default_str();
  sub.add_option("--loss", t.loss, "mse or l1")->check(CLI::IsMember({"mse", "l1"}))->capture_default_str();
  CLI::Option* augment =
      sub.add_option("--augment-scales", t.augment_scales,
                     "also train on copies of the photos downscaled by these factors in (0, 1)")
          ->delimiter(',')
          ->capture_default_str();
  sub.add_flag_callback(
         "--no-augment", [&t] { t.augment_scales.clear(); }, "train on the photos at their own size only")
      ->excludes(augment);
  sub.add_flag("--by-area", t.by_area,
               "sample the photos in proportion to their area (default: equally often)");
  sub.add_option("--workers", t.workers, "loader threads preparing crops ahead of the step")
      ->check(example::at_least(0))
      ->capture_default_str();
  sub.add_option("--val-points", t.val_points, "validations along training")
      ->check(example::at_least(0))
      ->capture_default_str();
  sub.add_option("--plot", t.plot, "validation curve PNG (default: next to --save, NAME_curve.png)");
  sub.add_option("--log-every", t.log_every, "steps between progress lines when not on a terminal")
      ->check(example::at_least(1))
      ->capture_default_str();
  sub.add_option("--threads", t.threads, "threads for every kernel")
      ->check(example::at_least(1))
      ->capture_default_str();
  sub.add_option("--seed", t.seed, "seed of the crops and the initial weights")->capture_default_str();
  sub.add_flag("--json", t.json, "print only one JSON line with the results");
  sub.add_flag("--bf16", t.bf16,
               "mixed precision: forward and loss under AutocastGuard (bfloat16 convolutions)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "upsample: super-resolution with convgrad (train / eval / apply); without a subcommand, a toy x2 "
      "demonstration on synthetic images"};
  RunConfig c;
  bool checkerboard = false;
  app.add_option("--steps", c.steps, "Adam steps")->check(example::at_least(1))->capture_default_str();
  app.add_option("--batch", c.batch, "images per step")->check(example::at_least(1))->capture_default_str();
  app.add_option("--lr", c.lr, "Adam learning rate (cosine decay to 0)")
      ->check(example::positive())
      ->capture_default_str();
  app.add_option("--threads", c.threads, "threads for every kernel")
      ->check(example::at_least(1))
      ->capture_default_str();
  app.add_option("--seed", c.seed, "seed of the images and of the initial weights")->capture_default_str();
  app.add_option("--eval-images", c.eval_images, "held-out images")
      ->check(example::at_least(1))
      ->capture_default_str();
  app.add_option("--out", c.out, "folder for the PNG pictures")->capture_default_str();
  app.add_flag("--checkerboard", checkerboard,
               "demonstrate checkerboard artefacts: k3 s2 vs k4 s2 transposed convs, learned from scratch");

  TrainConfig t;
  CLI::App* train_cmd =
      app.add_subcommand("train", "train a super-resolution model on a folder of photographs");
  bool rgb = false;
  add_train_options(*train_cmd, t, rgb);

  EvalConfig e;
  CLI::App* eval_cmd =
      app.add_subcommand("eval", "PSNR / SSIM (Y, border = scale) of a model, bicubic and bilinear");
  eval_cmd->add_option("--load", e.load, "checkpoint from `upsample train --save`")->required();
  eval_cmd->add_option("--images", e.images, "folder of high-resolution photographs")->required();
  eval_cmd->add_option("--compare", e.compare, "also write a PNG of central crops side by side");
  eval_cmd->add_option("--tile", e.tile, "low-resolution tile side")
      ->check(example::at_least(1))
      ->capture_default_str();
  eval_cmd->add_option("--threads", e.threads, "threads")->check(example::at_least(1))->capture_default_str();
  eval_cmd->add_flag("--json", e.json, "print only one JSON line with the means");

  ApplyConfig a;
  CLI::App* apply_cmd = app.add_subcommand("apply", "upscale whole images of any size into PNGs");
  apply_cmd->add_option("--load", a.load, "checkpoint from `upsample train --save`")->required();
  apply_cmd->add_option("inputs", a.inputs, "image files (PNG, JPEG, uint8 .npy)")->required();
  apply_cmd->add_option("--out", a.out, "output folder (NAME_xS.png per input)")->required();
  apply_cmd->add_option("--tile", a.tile, "low-resolution tile side (memory grows with its square)")
      ->check(example::at_least(1))
      ->capture_default_str();
  apply_cmd->add_option("--threads", a.threads, "threads")
      ->check(example::at_least(1))
      ->capture_default_str();
  app.require_subcommand(0, 1);

  CLI11_PARSE(app, argc, argv);
  try {
    if (train_cmd->parsed()) {
      if (rgb) t.model.channels = 3;
      t.model = with_arch_defaults(t.model);  // the architecture's widths; scale, channels, residual kept
      return run_train(t);
    }
    if (eval_cmd->parsed()) return run_eval(e);
    if (apply_cmd->parsed()) return run_apply(a);
    set_num_threads(c.threads);
    if (std::string hint = example::busy_machine_hint(c.threads); !hint.empty()) fmt::print("{}\n", hint);
    std::filesystem::create_directories(c.out);
    return checkerboard ? run_checkerboard(c) : run_super_resolution(c);
  } catch (const std::exception& ex) {
    fmt::print(stderr, "upsample: error: {}\n", ex.what());
    return 1;
  }
}
