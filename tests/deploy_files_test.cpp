// Docker cannot run on the development machines, so the deployment files are checked here
// for what can be checked without it: they parse, every container service has a Dockerfile
// target, every Railway config names a real start binary, restart policy and health check are
// valid, and no secret is written into them.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {
const fs::path root = POLYTRADE_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> dockerfile_targets() {
  std::set<std::string> targets;
  std::regex from(R"(^FROM\s+\S+\s+AS\s+(\S+)\s*$)", std::regex::icase);
  std::istringstream in(slurp(root / "deploy/Dockerfile"));
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, from)) targets.insert(m[1]);
  }
  return targets;
}

// Binaries the build produces: one folder per service.
bool is_service_binary(const std::string& name) { return fs::exists(root / "services" / name / "CMakeLists.txt"); }
}  // namespace

TEST_CASE("every compose service builds from a Dockerfile target or a pinned image") {
  auto compose = YAML::Load(slurp(root / "docker-compose.yml"));
  auto targets = dockerfile_targets();
  REQUIRE(targets.count("build"));
  REQUIRE(targets.count("runtime"));
  auto services = compose["services"];
  REQUIRE(services.IsMap());
  std::set<std::string> names;
  for (const auto& kv : services) {
    auto name = kv.first.as<std::string>();
    names.insert(name);
    auto svc = kv.second;
    INFO("compose service " << name);
    CHECK(svc["restart"].as<std::string>() == "unless-stopped");
    if (svc["image"]) {
      CHECK(svc["healthcheck"].IsMap());
      CHECK(svc["image"].as<std::string>().find(':') != std::string::npos);  // pinned tag
    } else {
      REQUIRE(svc["build"]["target"]);
      auto target = svc["build"]["target"].as<std::string>();
      CHECK(targets.count(target));
      CHECK(is_service_binary(target));
      if (target != "venue-sim") {  // the simulator is the only one without a bus
        CHECK(svc["environment"]["NATS_URL"]);
        CHECK(svc["depends_on"]["nats"]["condition"].as<std::string>() == "service_healthy");
      }
    }
  }
  CHECK(names.count("nats"));
  CHECK(names.count("postgres"));
  CHECK(names.count("supervisor"));
}

TEST_CASE("compose and Docker files carry no secret values") {
  // A secret-named key must take its value from the environment (${...}), never a literal.
  std::regex literal_secret(R"(^\s*-?\s*[A-Z_]*(PASSWORD|SECRET|API_KEY|TOKEN)[A-Z_]*\s*[:=]\s*[^$\s{].*$)");
  // ...and a URL's password must be a ${...} reference too: "postgresql://u:literal@db".
  std::regex url_password(R"(://[^:/@\s]+:[^$\s{@/][^@\s]*@)");
  std::vector<fs::path> files{root / "docker-compose.yml", root / "deploy/Dockerfile"};
  for (const auto& entry : fs::directory_iterator(root / "railway")) files.push_back(entry.path());
  for (const auto& entry : fs::directory_iterator(root / "deploy"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  for (const auto& file : files) {
    std::istringstream in(slurp(file));
    for (std::string line; std::getline(in, line);) {
      INFO(file << ": " << line);
      CHECK_FALSE(std::regex_match(line, literal_secret));
      CHECK_FALSE(std::regex_search(line, url_password));
    }
  }
  // The patterns themselves must catch what they are for (a test that cannot fail proves nothing).
  CHECK(std::regex_match(std::string("  POSTGRES_PASSWORD: hunter2"), literal_secret));
  CHECK(std::regex_search(std::string("DATABASE_URL: postgresql://bot:hunter2@db/pt"), url_password));
  CHECK_FALSE(std::regex_search(std::string("DATABASE_URL: postgresql://bot:${PW}@db/pt"), url_password));
}

TEST_CASE("Railway configs are valid and start a real binary") {
  int count = 0;
  bool has_web = false;
  auto targets = dockerfile_targets();
  for (const auto& entry : fs::directory_iterator(root / "railway")) {
    if (entry.path().extension() != ".json") continue;
    ++count;
    INFO(entry.path());
    auto j = nlohmann::json::parse(slurp(entry.path()));
    CHECK(j["$schema"] == "https://railway.com/railway.schema.json");
    CHECK(j["build"]["builder"] == "DOCKERFILE");
    CHECK(fs::exists(root / j["build"]["dockerfilePath"].get<std::string>()));
    auto deploy = j["deploy"];
    std::set<std::string> policies{"ON_FAILURE", "ALWAYS", "NEVER"};
    CHECK(policies.count(deploy["restartPolicyType"].get<std::string>()));
    CHECK(deploy["restartPolicyType"] != "NEVER");
    auto start = deploy["startCommand"].get<std::string>();
    auto binary = start.substr(0, start.find(' '));
    CHECK(is_service_binary(binary));
    CHECK(entry.path().stem() == binary);
    if (deploy.contains("healthcheckPath")) {
      has_web = true;
      CHECK(deploy["healthcheckPath"].get<std::string>().rfind('/', 0) == 0);
      CHECK(deploy["healthcheckTimeout"].get<int>() > 0);
    }
    for (auto& [key, _] : deploy.items()) {
      static const std::set<std::string> known{"startCommand", "numReplicas", "healthcheckPath", "healthcheckTimeout",
                                               "restartPolicyType", "restartPolicyMaxRetries", "sleepApplication",
                                               "preDeployCommand", "overlapSeconds", "drainingSeconds"};
      CHECK(known.count(key));
    }
  }
  CHECK(count >= 2);
  CHECK(has_web);
  CHECK(targets.count("fleet"));  // Railway builds the last stage, which must hold every binary
}

TEST_CASE("the paper trading fleet has a container, a compose service and a Railway config each") {
  auto compose = YAML::Load(slurp(root / "docker-compose.yml"));
  auto targets = dockerfile_targets();
  for (const std::string svc : {"marketdata", "signal", "risk", "execution", "guardian", "venue-sim", "research"}) {
    INFO(svc);
    CHECK(targets.count(svc));
    REQUIRE(compose["services"][svc]);
    CHECK(fs::exists(root / "railway" / (svc + ".json")));
    if (svc != "venue-sim") {
      CHECK(fs::exists(root / "deploy/container" / (svc + ".yaml")));
      auto j = nlohmann::json::parse(slurp(root / "railway" / (svc + ".json")));
      CHECK(j["deploy"]["startCommand"] == svc + " --config deploy/container/" + svc + ".yaml");
    }
  }
  // venue-sim answers on the private network under its Railway name in compose too, and never
  // publishes a port to the host.
  auto sim = compose["services"]["venue-sim"];
  CHECK(sim["networks"]["default"]["aliases"][0].as<std::string>() == "venue-sim.railway.internal");
  CHECK_FALSE(sim["ports"]);
  // Only the two services that hold a venue session opt in to a private-network paper venue;
  // nothing sets the live switch.
  for (const std::string svc : {"execution", "guardian"})
    CHECK(compose["services"][svc]["environment"]["POLYTRADE_PAPER_PRIVATE_VENUE"].as<std::string>() == "1");
  for (const auto& kv : compose["services"]) {
    INFO(kv.first.as<std::string>());
    if (!kv.second["environment"]) continue;  // nats, postgres: images with their own settings
    const YAML::Node env = kv.second["environment"];
    CHECK_FALSE(env["POLYTRADE_LIVE"]);
  }
  // The container configs trade paper against venue-sim only.
  for (const std::string svc : {"marketdata", "execution", "guardian"}) {
    auto y = YAML::Load(slurp(root / "deploy/container" / (svc + ".yaml")));
    INFO(svc);
    CHECK(y[svc]["rest_url"].as<std::string>().rfind("http://venue-sim.railway.internal:", 0) == 0);
    if (y[svc]["mode"]) CHECK(y[svc]["mode"].as<std::string>() == "paper");
  }
}
