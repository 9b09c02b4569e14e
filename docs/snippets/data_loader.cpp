// docs/data.md: in-memory datasets, transforms, a custom dataset and the DataLoader.
#include <convgrad/convgrad.h>

using namespace convgrad;
namespace cd = convgrad::data;

// [doc:custom]
// A dataset is a size and a get(index, generator); get may run on several threads at once.
class Squares : public cd::Dataset {
 public:
  int64_t size() const override { return 10; }
  cd::Example get(int64_t index, Generator& gen) const override {
    cd::Example ex;
    ex.input = full({1, 4, 4}, static_cast<double>(index));
    ex.label = index % 2;
    return cd::RandomHorizontalFlip()(std::move(ex), gen);  // transforms compose inside get too
  }
};
// [/doc]

int main() {
  // [doc:tensors]
  Generator gen(0);
  Tensor images = rand({100, 3, 32, 32}, gen);
  Tensor labels = randint(0, 10, {100}, gen);  // int64 (N,) targets are class labels
  cd::Compose augment({cd::RandomCrop(28), cd::RandomHorizontalFlip(),
                       cd::Normalize({0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f})});
  auto train = std::make_shared<cd::TensorDataset>(images, labels, augment);
  cd::DataLoader loader(train, cd::DataLoaderOptions().batch_size(32).shuffle(true).num_workers(2).seed(0));
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (cd::Batch& batch : loader) {  // each loop over the loader is one epoch
      fmt::print("epoch {}: input {} label {}\n", loader.epoch(), shape_str(batch.input.shape()),
                 shape_str(batch.label.shape()));
    }
  }
  // [/doc]

  // [doc:custom_use]
  cd::DataLoader squares(std::make_shared<Squares>(), cd::DataLoaderOptions().batch_size(4).drop_last(true));
  for (cd::Batch& b : squares)
    fmt::print("indices {} labels {}\n", fmt::join(b.indices, " "),
               fmt::join(b.label.to_vector<int64_t>(), " "));
  // [/doc]
}
