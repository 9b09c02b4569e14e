// The data pipeline, as torch.utils.data and torchvision: datasets, transforms, the loader.
#pragma once

#include "layers/data/dataset.h"
#include "layers/data/functional.h"
#include "layers/data/image_folder.h"
#include "layers/data/loader.h"
#include "layers/data/resize.h"
#include "layers/data/transforms.h"
