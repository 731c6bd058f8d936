// The safetensors loader: good files load without copying; every kind of damage is a clear error naming the file
// and the tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <cmath>

#include "model/safetensors.h"
#include "util/error.h"

namespace fs {
namespace {

namespace stdfs = std::filesystem;

std::string temp_dir(const std::string& name) {
  auto d = stdfs::temp_directory_path() / ("fs_test_" + name + "_" + std::to_string(::getpid()));
  stdfs::remove_all(d);
  stdfs::create_directories(d);
  return d.string();
}

TensorToWrite bf16(std::vector<int64_t> shape, float start) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  TensorToWrite t{DType::BF16, shape, {}};
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h = f32_to_bf16(start + 0.5f * float(i));
    t.bytes.push_back(uint8_t(h & 0xff));
    t.bytes.push_back(uint8_t(h >> 8));
  }
  return t;
}

// Writes raw bytes: an 8-byte header length, the header text, then the data.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  std::ofstream f(path, std::ios::binary);
  uint64_t n = claimed_len ? claimed_len : header.size();
  for (int i = 0; i < 8; ++i) f.put(char((n >> (8 * i)) & 0xff));
  f << header;
  for (size_t i = 0; i < data_bytes; ++i) f.put(char(i * 7 + 1));
}

std::string error_of(const std::string& path) {
  try {
    SafeTensorFile f(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SafeTensors, RoundTripKeepsDtypeShapeAndBytes) {
  const auto dir = temp_dir("roundtrip");
  std::map<std::string, TensorToWrite> t;
  t["a"] = bf16({2, 3}, 1.0f);
  t["b"] = TensorToWrite{DType::F32, {4}, std::vector<uint8_t>(16, 0x3f)};
  t["c"] = TensorToWrite{DType::F16, {1, 2}, {0x00, 0x3c, 0x00, 0xc0}};  // 1.0, -2.0
  write_safetensors(dir + "/model.safetensors", t);
  SafeTensorFile f(dir + "/model.safetensors");
  ASSERT_EQ(f.tensors().size(), 3u);
  const auto& a = f.tensors().at("a");
  EXPECT_EQ(a.dtype, DType::BF16);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.nbytes, 12u);
  EXPECT_FLOAT_EQ(load_as_f32(a.data, a.dtype, 5), 3.5f);
  const auto& c = f.tensors().at("c");
  EXPECT_FLOAT_EQ(load_as_f32(c.data, c.dtype, 0), 1.0f);
  EXPECT_FLOAT_EQ(load_as_f32(c.data, c.dtype, 1), -2.0f);
  // Weights are used in place: each pointer lies inside the mapping, right after the one before it.
  EXPECT_EQ(static_cast<const uint8_t*>(f.tensors().at("b").data), static_cast<const uint8_t*>(a.data) + 12);
}

TEST(SafeTensors, ShardedIndexOpensEveryShard) {
  const auto dir = temp_dir("sharded");
  write_safetensors(dir + "/model-00001-of-00002.safetensors", {{"x", bf16({2}, 0)}});
  write_safetensors(dir + "/model-00002-of-00002.safetensors", {{"y", bf16({3}, 1)}});
  std::ofstream(dir + "/model.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}})";
  auto set = SafeTensorSet::open_dir(dir);
  ASSERT_NE(set.find("x"), nullptr);
  ASSERT_NE(set.find("y"), nullptr);
  EXPECT_EQ(set.files().size(), 2u);
  EXPECT_EQ(set.find("y")->shape, (std::vector<int64_t>{3}));
}

TEST(SafeTensors, IndexNamingAMissingTensorIsAnError) {
  const auto dir = temp_dir("badindex");
  write_safetensors(dir + "/s.safetensors", {{"x", bf16({2}, 0)}});
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map":{"x":"s.safetensors","z":"s.safetensors"}})";
  try {
    SafeTensorSet::open_dir(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"z\""), std::string::npos) << e.what();
  }
}

TEST(SafeTensors, TruncatedFileNamesTheTensor) {
  const auto dir = temp_dir("trunc");
  write_safetensors(dir + "/m.safetensors", {{"weight", bf16({64}, 0)}});
  const auto size = stdfs::file_size(dir + "/m.safetensors");
  stdfs::resize_file(dir + "/m.safetensors", size - 10);
  const auto e = error_of(dir + "/m.safetensors");
  EXPECT_NE(e.find("m.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("\"weight\""), std::string::npos) << e;
  EXPECT_NE(e.find("past the end"), std::string::npos) << e;
}

TEST(SafeTensors, EveryKindOfDamageIsAClearError) {
  const auto dir = temp_dir("damage");
  const auto p = dir + "/bad.safetensors";
  struct Case {
    std::string header;
    size_t data;
    uint64_t claimed;
    std::string expect;
  } cases[] = {
      {"{}", 0, 1000, "larger than the file"},
      {"{not json", 0, 0, "not valid JSON"},
      {"[1,2]", 0, 0, "not a JSON object"},
      {R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8, 0, "dtype I64 is not supported"},
      {R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, 0, "needs 12 bytes"},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, 0, "begin > end"},
      {R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, 0, "non-negative"},
      {R"({"w":{"dtype":"F32","shape":[2]}})", 8, 0, "data_offsets"},
      {R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8, 0, "dtype"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, 0, "overlap"},
      {R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8, 0, "too large"},
  };
  for (const auto& c : cases) {
    write_raw(p, c.header, c.data, c.claimed);
    const auto e = error_of(p);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "header " << c.header << " gave: " << e;
    EXPECT_NE(e.find("bad.safetensors"), std::string::npos) << e;
  }
  // Shorter than the 8-byte length prefix.
  std::ofstream(p, std::ios::binary) << "abc";
  EXPECT_NE(error_of(p).find("too short"), std::string::npos);
  // Missing file.
  EXPECT_NE(error_of(dir + "/nope.safetensors").find("cannot open"), std::string::npos);
}

TEST(SafeTensors, FolderWithoutWeightsIsAClearError) {
  const auto dir = temp_dir("empty");
  try {
    SafeTensorSet::open_dir(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no model.safetensors"), std::string::npos);
  }
}

TEST(DType, Conversions) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);  // exactly halfway: rounds to even
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // halfway the other way: rounds up to even
  for (float x : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f})
    EXPECT_EQ(f16_to_f32(f32_to_f16(x)), x) << x;
  EXPECT_EQ(f16_to_f32(0x7c00), INFINITY);
}

}  // namespace
}  // namespace fs
