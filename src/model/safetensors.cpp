#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace fs {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw Error(path + ": " + what); }

// Parses and checks one tensor entry of the header.
TensorInfo parse_entry(const std::string& path, const std::string& name, const json& e, const uint8_t* data,
                       size_t data_size) {
  auto where = "tensor \"" + name + "\"";
  if (!e.is_object()) fail(path, where + ": header entry is not an object");
  if (!e.contains("dtype") || !e["dtype"].is_string()) fail(path, where + ": missing \"dtype\"");
  if (!e.contains("shape") || !e["shape"].is_array()) fail(path, where + ": missing \"shape\"");
  if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2)
    fail(path, where + ": \"data_offsets\" must be [begin, end]");
  TensorInfo t;
  t.name = name;
  t.file = path;
  const std::string dt = e["dtype"];
  if (!parse_dtype(dt, &t.dtype)) fail(path, where + ": dtype " + dt + " is not supported (F32, F16, BF16 are)");
  uint64_t numel = 1;
  for (const auto& d : e["shape"]) {
    if (!d.is_number_unsigned()) fail(path, where + ": shape entries must be non-negative integers");
    const uint64_t v = d.get<uint64_t>();
    if (v > (uint64_t(1) << 40) || (v && numel > (uint64_t(1) << 40) / v))
      fail(path, where + ": shape is too large");
    numel *= v;
    t.shape.push_back(int64_t(v));
  }
  const auto& off = e["data_offsets"];
  if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    fail(path, where + ": data_offsets must be non-negative integers");
  const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
  if (begin > end) fail(path, where + ": data_offsets begin > end");
  if (end > data_size)
    fail(path, where + ": bytes [" + std::to_string(begin) + ", " + std::to_string(end) +
                   ") run past the end of the data section (" + std::to_string(data_size) + " bytes; file truncated?)");
  t.nbytes = size_t(end - begin);
  if (numel * dtype_size(t.dtype) != t.nbytes)
    fail(path, where + ": " + dt + " × shape needs " + std::to_string(numel * dtype_size(t.dtype)) +
                   " bytes but data_offsets span " + std::to_string(t.nbytes));
  t.data = data + begin;
  return t;
}

}  // namespace

SafeTensorFile::SafeTensorFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, "cannot open: " + std::string(std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    fail(path, "cannot stat");
  }
  size_ = size_t(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    fail(path, "file is " + std::to_string(size_) + " bytes, too short for a safetensors header");
  }
  map_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    fail(path, "mmap failed");
  }
  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little-endian u64
    if (n > size_ - 8)
      fail(path, "header length " + std::to_string(n) + " is larger than the file (" + std::to_string(size_) +
                     " bytes): truncated or not a safetensors file");
    json header;
    try {
      header = json::parse(bytes + 8, bytes + 8 + n);
    } catch (const json::exception& e) {
      fail(path, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail(path, "header is not a JSON object");
    const uint8_t* data = bytes + 8 + n;
    const size_t data_size = size_ - 8 - n;
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      tensors_.emplace(it.key(), parse_entry(path, it.key(), it.value(), data, data_size));
    }
    // No two tensors may share bytes: sort by start and compare neighbours.
    std::vector<const TensorInfo*> order;
    for (const auto& [_, t] : tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->data < b->data; });
    for (size_t i = 1; i < order.size(); ++i) {
      const auto* prev = order[i - 1];
      if (static_cast<const uint8_t*>(prev->data) + prev->nbytes > static_cast<const uint8_t*>(order[i]->data))
        fail(path, "tensors \"" + prev->name + "\" and \"" + order[i]->name + "\" overlap in the data section");
    }
  } catch (...) {
    munmap(map_, size_);
    map_ = nullptr;
    throw;
  }
}

SafeTensorFile::~SafeTensorFile() {
  if (map_) munmap(map_, size_);
}

SafeTensorSet SafeTensorSet::open_dir(const std::string& dir) {
  namespace stdfs = std::filesystem;
  SafeTensorSet set;
  const stdfs::path index = stdfs::path(dir) / "model.safetensors.index.json";
  const stdfs::path single = stdfs::path(dir) / "model.safetensors";
  if (stdfs::exists(index)) {
    json j;
    try {
      std::ifstream f(index);
      j = json::parse(f);
    } catch (const json::exception& e) {
      fail(index.string(), std::string("not valid JSON: ") + e.what());
    }
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      fail(index.string(), "missing \"weight_map\" object");
    std::map<std::string, std::shared_ptr<SafeTensorFile>> shards;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) fail(index.string(), "weight_map[\"" + it.key() + "\"] is not a file name");
      const std::string file = it.value();
      if (file.find('/') != std::string::npos || file == "..")
        fail(index.string(), "weight_map[\"" + it.key() + "\"] names \"" + file + "\" outside the model folder");
      auto& shard = shards[file];
      if (!shard) {
        shard = std::make_shared<SafeTensorFile>((stdfs::path(dir) / file).string());
        set.mapped_.push_back(shard);
        set.files_.push_back(shard->path());
      }
      auto t = shard->tensors().find(it.key());
      if (t == shard->tensors().end())
        fail(shard->path(), "tensor \"" + it.key() + "\" is listed in model.safetensors.index.json but not in this shard");
      set.tensors_.emplace(it.key(), t->second);
    }
  } else if (stdfs::exists(single)) {
    auto file = std::make_shared<SafeTensorFile>(single.string());
    set.mapped_.push_back(file);
    set.files_.push_back(file->path());
    set.tensors_ = file->tensors();
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  return set;
}

const TensorInfo* SafeTensorSet::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

size_t SafeTensorSet::total_bytes() const {
  size_t n = 0;
  for (const auto& [_, t] : tensors_) n += t.nbytes;
  return n;
}

void write_safetensors(const std::string& path, const std::map<std::string, TensorToWrite>& tensors) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';  // the format pads the header so the data section is 8-byte aligned
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot write");
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) f.put(char((n >> (8 * i)) & 0xff));
  f.write(h.data(), std::streamsize(h.size()));
  for (const auto& [_, t] : tensors) f.write(reinterpret_cast<const char*>(t.bytes.data()), std::streamsize(t.bytes.size()));
}

}  // namespace fs
