// docs/data.md: ImageFolder over a folder of PNG files, and the super-resolution pipeline.
#include <convgrad/convgrad.h>
#include <unistd.h>

#include <filesystem>

using namespace convgrad;
namespace cd = convgrad::data;
namespace fs = std::filesystem;

int main() {
  // A small image tree: photos/cats/*.png and photos/dogs/*.png, 64 x 80 pixels each.
  const fs::path root = fs::temp_directory_path() / ("convgrad_doc_photos_" + std::to_string(::getpid()));
  Generator gen(0);
  for (const char* cls : {"cats", "dogs"})
    for (int i = 0; i < 3; ++i) {
      fs::create_directories(root / cls);
      write_png((root / cls / fmt::format("{}.png", i)).string(), rand({3, 64, 80}, gen));
    }

  // [doc:folder]
  cd::ImageFolder folder(root.string(), cd::ImageFolderOptions()
                                            .extensions({".png", ".jpg"})
                                            .cache_in_memory(true)
                                            .on_bad_file(cd::BadFile::Skip)
                                            .transform(cd::Compose({cd::Resize(32), cd::CenterCrop(32)})));
  fmt::print("{} images, classes {}\n", folder.size(), fmt::join(folder.classes(), " "));
  cd::Example first = folder.get(0, gen);
  fmt::print("{} -> label {}, input {}\n", fs::path(first.path).filename().string(), first.label,
             shape_str(first.input.shape()));
  // [/doc]

  // [doc:sr]
  // x2 super-resolution: 48 x 48 crops of the photos, one of 8 symmetries, and a bicubic
  // (antialiased) downscale as the input.
  auto photos = std::make_shared<cd::ImageFolder>(
      root.string(), cd::ImageFolderOptions().class_folders(false).transform(
                         cd::Compose({cd::RandomCrop(48), cd::RandomDihedral(), cd::MakeLowResPair(2)})));
  cd::DataLoader loader(photos, cd::DataLoaderOptions().batch_size(4).shuffle(true).num_workers(2));
  for (cd::Batch& b : loader)
    fmt::print("input {} target {}\n", shape_str(b.input.shape()), shape_str(b.target.shape()));
  // [/doc]
  fs::remove_all(root);
}
