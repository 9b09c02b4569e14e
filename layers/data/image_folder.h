// ImageFolder: every image file under a folder, as torchvision.datasets.ImageFolder.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/arg.h"
#include "core/image_io.h"
#include "layers/data/dataset.h"

namespace convgrad::data {

/// What a file that cannot be used (undecodable, or rejected by a transform, e.g. smaller than the
/// crop) does: stop with an Error naming it, or be left out with one warning on stderr.
enum class BadFile { Error, Skip };

/// Options of ImageFolder: ImageFolderOptions().extensions({".png"}).cache_in_memory(true).
class ImageFolderOptions {
 public:
  /// File name endings kept, compared case-insensitively, with or without the dot
  /// (default .png .jpg .jpeg .npy).
  CONVGRAD_ARG(std::vector<std::string>, extensions){".png", ".jpg", ".jpeg", ".npy"};
  /// Keep each decoded image after its first use, so later epochs skip decoding (default false).
  CONVGRAD_ARG(bool, cache_in_memory) = false;
  /// Error (default) or Skip for files that cannot be used.
  CONVGRAD_ARG(BadFile, on_bad_file) = BadFile::Error;
  /// Whether the sub-folders of the root are classes (default true); false reads every image
  /// below the root, unlabelled (label -1).
  CONVGRAD_ARG(bool, class_folders) = true;
  /// Applied to each decoded sample (Example{image, no target, label, path}); default none.
  CONVGRAD_ARG(Transform, transform);
  /// The channels the default loader returns (read_image's ImageMode; default RGB, as torchvision's
  /// loader converts every image to RGB so that grey, RGB and RGBA files batch together).
  CONVGRAD_ARG(ImageMode, mode) = ImageMode::RGB;
  /// Decodes one file into a (C, H, W) float32 tensor; default read_image(path, mode()).
  CONVGRAD_ARG(std::function<Tensor(const std::string&)>, loader);
};

/// The images under `root`, found recursively and sorted by (folder, file name).
///
/// With class folders (the default) each sub-folder of `root` is a class, labels numbered in
/// sorted name order, and files directly in `root` are ignored, as torchvision does. A root with no
/// sub-folders, or class_folders(false), gives unlabelled samples (label -1) of every image below it:
/// the layout for super-resolution, where the picture is its own target. Finding no image, or a class
/// folder without one, is an Error. The scan does not follow links to folders (a class folder may
/// itself be one), so a link loop cannot trap it.
class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(std::string root, ImageFolderOptions options = {});
  ~ImageFolder() override;

  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  /// The decoded, transformed image `index`. A bad file throws Error naming it, or, with
  /// BadFile::Skip, SampleSkipped after one warning per file.
  Example get(int64_t index, Generator& gen) const override;
  std::string describe(int64_t index) const override;

  /// Class names in label order (empty when unlabelled).
  const std::vector<std::string>& classes() const { return classes_; }
  /// Class name -> label.
  std::map<std::string, int64_t> class_to_idx() const;
  /// (path, label) of every sample, in index order.
  const std::vector<std::pair<std::string, int64_t>>& samples() const { return samples_; }
  /// The folder scanned.
  const std::string& root() const { return root_; }
  /// Number of files found bad so far (each skipped or raised once).
  int64_t bad_file_count() const;

 private:
  Tensor decode(int64_t index) const;
  [[noreturn]] void bad(int64_t index, const std::string& why) const;

  std::string root_;
  ImageFolderOptions options_;
  std::vector<std::string> classes_;
  std::vector<std::pair<std::string, int64_t>> samples_;
  struct State;  // cache and bad-file records, shared by the loader's threads under one mutex
  std::unique_ptr<State> state_;
};

}  // namespace convgrad::data
