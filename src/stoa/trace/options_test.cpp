#include "stoa/trace/options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

namespace stoa::trace {
namespace {

using Env = std::map<std::string, std::string>;

TEST(FromEnvironment, NothingSetIsDisabledWithDefaults) {
  const TraceOptions o = from_environment({});
  EXPECT_FALSE(o.enabled());
  EXPECT_EQ(o.service_name, "stoa");
  EXPECT_EQ(o.service_version, STOA_VERSION);
  EXPECT_EQ(o.queue_size, 2048u);
  EXPECT_EQ(o.max_batch, 512u);
  EXPECT_EQ(o.schedule_delay, std::chrono::milliseconds(1000));
  EXPECT_EQ(o.export_timeout, std::chrono::milliseconds(2000));
  EXPECT_TRUE(o.sampler.parent_based);
  EXPECT_EQ(o.sampler.root, Sampler::Root::always_on);
  EXPECT_TRUE(o.headers.empty());
}

TEST(FromEnvironment, Endpoints) {
  struct Case {
    Env env;
    std::string endpoint;
  };
  const std::vector<Case> cases = {
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}},
       "http://collector:4318/v1/traces"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}},
       "http://collector:4318/v1/traces"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c.example/otlp"}},
       "https://c.example/otlp/v1/traces"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom/path"}},
       "http://c:4318/custom/path"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/x"}},
       "http://traces:4318/x"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", " http://base:4318 "}},
       "http://base:4318/v1/traces"},  // empty counts as unset; blanks trimmed
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"}, {"OTEL_SDK_DISABLED", "TRUE"}}, ""},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"}, {"OTEL_SDK_DISABLED", "false"}},
       "http://base:4318/v1/traces"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.endpoint);
    const TraceOptions o = from_environment(c.env);
    EXPECT_EQ(o.endpoint, c.endpoint);
    EXPECT_EQ(o.enabled(), !c.endpoint.empty());
  }
}

TEST(FromEnvironment, HeadersArePercentDecodedAndTracesOnesWin) {
  const TraceOptions o = from_environment({
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
      {"OTEL_EXPORTER_OTLP_HEADERS",
       "Authorization=Basic%20dXNlcjpwYXNz, x-tenant = a%2Cb%3Dc ,,api-key=k==,empty="},
      {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "X-Tenant=traces"},
  });
  const std::map<std::string, std::string> want = {
      {"authorization", "Basic dXNlcjpwYXNz"},
      {"x-tenant", "traces"},
      {"api-key", "k=="},  // split at the first '='
      {"empty", ""},
  };
  EXPECT_EQ(o.headers, want);
}

TEST(FromEnvironment, ServiceNameAndResourceAttributes) {
  TraceOptions o = from_environment({
      {"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource,deployment.environment=prod%20eu"},
  });
  EXPECT_EQ(o.service_name, "from-resource");
  EXPECT_EQ(
      o.resource_attributes,
      (std::vector<std::pair<std::string, std::string>>{{"deployment.environment", "prod eu"}}));
  o = from_environment({
      {"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource"},
      {"OTEL_SERVICE_NAME", "proxy-eu"},
  });
  EXPECT_EQ(o.service_name, "proxy-eu");
}

TEST(FromEnvironment, Samplers) {
  struct Case {
    std::string name, arg;
    Sampler::Root root;
    bool parent_based;
    double ratio;
  };
  const std::vector<Case> cases = {
      {"always_on", "", Sampler::Root::always_on, false, 1.0},
      {"always_off", "", Sampler::Root::always_off, false, 1.0},
      {"traceidratio", "0.25", Sampler::Root::trace_id_ratio, false, 0.25},
      {"traceidratio", "", Sampler::Root::trace_id_ratio, false, 1.0},
      {"parentbased_always_on", "", Sampler::Root::always_on, true, 1.0},
      {"parentbased_always_off", "", Sampler::Root::always_off, true, 1.0},
      {"parentbased_traceidratio", "0", Sampler::Root::trace_id_ratio, true, 0.0},
      {"parentbased_traceidratio", "1", Sampler::Root::trace_id_ratio, true, 1.0},
      {"always_on", "0.5", Sampler::Root::always_on, false, 1.0},  // arg unused
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + " " + c.arg);
    Env env = {{"OTEL_TRACES_SAMPLER", c.name}};
    if (!c.arg.empty()) env["OTEL_TRACES_SAMPLER_ARG"] = c.arg;
    const Sampler s = from_environment(env).sampler;
    EXPECT_EQ(s.root, c.root);
    EXPECT_EQ(s.parent_based, c.parent_based);
    EXPECT_EQ(s.ratio, c.ratio);
  }
}

TEST(FromEnvironment, BatchSettings) {
  TraceOptions o = from_environment({
      {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
      {"OTEL_BSP_SCHEDULE_DELAY", "250"},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", "5000"},
      {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"},
  });
  EXPECT_EQ(o.queue_size, 100u);
  EXPECT_EQ(o.max_batch, 100u);  // the default batch shrinks to a smaller queue
  EXPECT_EQ(o.schedule_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(o.export_timeout, std::chrono::milliseconds(700));
  o = from_environment({{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"}});
  EXPECT_EQ(o.max_batch, 64u);
}

TEST(FromEnvironment, InvalidValuesStopStartupWithoutQuotingSecrets) {
  struct Case {
    Env env;
    std::string variable;  // named in the message
  };
  const std::vector<Case> cases = {
      {{{"OTEL_SDK_DISABLED", "yes"}}, "OTEL_SDK_DISABLED"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://c"}}, "endpoint"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}}, "endpoint"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http:///v1/traces"}}, "endpoint"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c/a b"}}, "endpoint"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization"}}, "OTEL_EXPORTER_OTLP_HEADERS"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "=s3cret"}}, "OTEL_EXPORTER_OTLP_HEADERS"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "bad name=s3cret"}}, "OTEL_EXPORTER_OTLP_HEADERS"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "a=s3cret%zz"}}, "OTEL_EXPORTER_OTLP_HEADERS"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "a=s3cret%0d%0aX-Injected: 1"}},
       "OTEL_EXPORTER_OTLP_HEADERS"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a=s3cret%"}}, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "Content-Type=s3cret"}}, "trace headers"},
      {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"}}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
      {{{"OTEL_EXPORTER_OTLP_TIMEOUT", "0"}}, "OTEL_EXPORTER_OTLP_TIMEOUT"},
      {{{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"}}, "OTEL_EXPORTER_OTLP_TIMEOUT"},
      {{{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}}, "queue size"},
      {{{"OTEL_BSP_MAX_QUEUE_SIZE", "-1"}}, "OTEL_BSP_MAX_QUEUE_SIZE"},
      {{{"OTEL_BSP_MAX_QUEUE_SIZE", "10"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "11"}}, "batch size"},
      {{{"OTEL_TRACES_SAMPLER", "jaeger_remote"}}, "OTEL_TRACES_SAMPLER"},
      {{{"OTEL_TRACES_SAMPLER", "parentbased_"}}, "OTEL_TRACES_SAMPLER"},
      {{{"OTEL_TRACES_SAMPLER", "parentbasedalways_on"}}, "OTEL_TRACES_SAMPLER"},
      {{{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "1.5"}},
       "OTEL_TRACES_SAMPLER_ARG"},
      {{{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "half"}},
       "OTEL_TRACES_SAMPLER_ARG"},
      {{{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "nan"}},
       "OTEL_TRACES_SAMPLER_ARG"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.variable);
    try {
      from_environment(c.env);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(c.variable), std::string::npos) << message;
      EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(Validate, ChecksOptionsNotFromTheEnvironment) {
  TraceOptions o;
  EXPECT_NO_THROW(validate(o));
  o.endpoint = "HTTPS://collector.example:4318/v1/traces";
  EXPECT_NO_THROW(validate(o));
  o.headers["x-ok"] = "v\tw";
  EXPECT_NO_THROW(validate(o));
  o.headers["x-bad"] = "v\nw";
  EXPECT_THROW(validate(o), std::invalid_argument);
  o.headers.erase("x-bad");
  o.sampler.ratio = -0.1;
  EXPECT_THROW(validate(o), std::invalid_argument);
  o.sampler.ratio = 0.5;
  o.export_timeout = std::chrono::milliseconds(0);
  EXPECT_THROW(validate(o), std::invalid_argument);
}

TEST(ProcessEnvironment, ReadsTheRealEnvironment) {
  ASSERT_EQ(::setenv("STOA_TRACE_TEST_VARIABLE", "a=b", 1), 0);
  const auto env = process_environment();
  const auto it = env.find("STOA_TRACE_TEST_VARIABLE");
  ASSERT_NE(it, env.end());
  EXPECT_EQ(it->second, "a=b");
}

}  // namespace
}  // namespace stoa::trace
