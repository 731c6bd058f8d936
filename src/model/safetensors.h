// Safetensors, read in place through mmap.
//
// A .safetensors file is: an 8-byte little-endian header length N, N bytes of JSON, then the data section.
// The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// data section); "__metadata__" holds free-form strings. We map the file read-only and hand out pointers into the
// mapping, so loading costs no copy and the OS pages weights in as the first forward pass touches them.
//
// Everything is validated before a pointer is handed out: the header length fits the file, the JSON parses, each
// dtype is one we run, dtype size × shape equals the byte range, every range lies inside the data section, and no
// two ranges overlap. A failure throws fs::Error naming the file and the tensor.
//
// A sharded model has model.safetensors.index.json ({"weight_map": {tensor: file}}); SafeTensorSet opens every
// shard it names and checks that each tensor is in the shard the index says.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/dtype.h"

namespace fs {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // inside the mapping
  size_t nbytes = 0;
  std::string file;            // the file it came from, for messages
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// One mapped file.
class SafeTensorFile {
 public:
  explicit SafeTensorFile(const std::string& path);  // throws fs::Error
  ~SafeTensorFile();
  SafeTensorFile(const SafeTensorFile&) = delete;
  SafeTensorFile& operator=(const SafeTensorFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  size_t file_size() const { return size_; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
};

// All tensors of a model folder: model.safetensors, or the shards of model.safetensors.index.json.
class SafeTensorSet {
 public:
  static SafeTensorSet open_dir(const std::string& dir);  // throws fs::Error

  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, TensorInfo>& all() const { return tensors_; }
  const std::vector<std::string>& files() const { return files_; }
  size_t total_bytes() const;

 private:
  std::vector<std::shared_ptr<SafeTensorFile>> mapped_;
  std::vector<std::string> files_;
  std::map<std::string, TensorInfo> tensors_;
};

// Writes a safetensors file (used by tests to make good and bad files, and by `bench --shape` nowhere: it
// synthesizes in memory). `tensors` maps name → (dtype, shape, raw bytes).
struct TensorToWrite {
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
void write_safetensors(const std::string& path, const std::map<std::string, TensorToWrite>& tensors);

}  // namespace fs
