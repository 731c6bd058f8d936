// Shared by the tokenizer tests: the three committed real tokenizers, each loaded once per test binary, and small
// helpers to build throwaway tokenizer.json files for the error and component tests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace fs::test {

// "qwen3" (byte-level BPE, NFC, digits split one by one), "llama3" (byte-level BPE, ignore_merges, numbers in
// groups of three), "llama2" (SentencePiece-style BPE with byte fallback; this file is Mistral-7B's vocabulary).
const Tokenizer& real_tokenizer(const std::string& name);
inline const char* const kRealTokenizers[] = {"qwen3", "llama3", "llama2"};

// Writes `json` as tokenizer.json into a fresh temporary folder and returns the folder.
std::string write_tokenizer_dir(const std::string& json);

// A complete, tiny byte-level tokenizer.json whose parts can be swapped: each argument is a JSON value.
std::string tiny_tokenizer_json(const std::string& normalizer = "null", const std::string& pre_tokenizer =
                                    R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})",
                                const std::string& decoder = R"({"type": "ByteLevel"})",
                                const std::string& post_processor = "null");

// The corpus (tests/data/tokenizer_corpus.jsonl).
std::vector<std::string> read_corpus();

std::string ids_to_string(const std::vector<int32_t>& ids);

}  // namespace fs::test
