"""Decodes an OTLP profiles request (binary protobuf, or OTLP/JSON with --json) with OpenTelemetry's own Python
classes (PyPI's opentelemetry-proto), checks the dictionary rules and every index, and prints a JSON summary:
sample counts, resources, the weight of each leaf function (the first line of each stack's first location) and the
samples of each leaf symbol (its last line), and how many locations hold inlined functions.
Exits 1, naming each broken rule, when the request breaks one."""
import json
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2 as service
from opentelemetry.proto.profiles.v1development import profiles_pb2 as profiles


def main():
    path, as_json = sys.argv[1], "--json" in sys.argv[2:]
    request = service.ExportProfilesServiceRequest()
    data = open(path, "rb").read()
    if as_json:
        json_format.Parse(data.decode("utf-8"), request)
    else:
        request.ParseFromString(data)
    d = request.dictionary
    errors = []

    def check(ok, what):
        if not ok:
            errors.append(what)

    # Every table starts with its zero value.
    check(len(d.string_table) > 0 and d.string_table[0] == "", "string_table[0] is not the empty string")
    for name, table, zero in [("mapping_table", d.mapping_table, profiles.Mapping()),
                              ("location_table", d.location_table, profiles.Location()),
                              ("function_table", d.function_table, profiles.Function()),
                              ("link_table", d.link_table, profiles.Link()),
                              ("attribute_table", d.attribute_table, profiles.KeyValueAndUnit()),
                              ("stack_table", d.stack_table, profiles.Stack())]:
        check(len(table) > 0 and table[0] == zero, name + "[0] is not the zero value")

    strings = len(d.string_table)

    def string_index(i, what):
        check(0 <= i < strings, "%s: string index %d out of %d" % (what, i, strings))

    def attribute_indices(indices, what):
        for a in indices:
            check(0 < a < len(d.attribute_table), "%s: attribute index %d out of %d" % (what, a, len(d.attribute_table)))

    for i, m in enumerate(d.mapping_table):
        string_index(m.filename_strindex, "mapping %d" % i)
        attribute_indices(m.attribute_indices, "mapping %d" % i)
        check(i == 0 or m.memory_start < m.memory_limit, "mapping %d: empty range" % i)
    for i, f in enumerate(d.function_table):
        for field in (f.name_strindex, f.system_name_strindex, f.filename_strindex):
            string_index(field, "function %d" % i)
    for i, loc in enumerate(d.location_table):
        check(0 <= loc.mapping_index < len(d.mapping_table), "location %d: mapping index %d" % (i, loc.mapping_index))
        for line in loc.lines:
            check(0 < line.function_index < len(d.function_table), "location %d: function index %d" % (i, line.function_index))
        attribute_indices(loc.attribute_indices, "location %d" % i)
    for i, a in enumerate(d.attribute_table):
        string_index(a.key_strindex, "attribute %d" % i)
        string_index(a.unit_strindex, "attribute %d" % i)
    for i, s in enumerate(d.stack_table):
        for l in s.location_indices:
            check(0 < l < len(d.location_table), "stack %d: location index %d" % (i, l))

    # leaves: each stack's innermost function (inlined ones included); symbols: the function its leaf address is in
    # (the last line of the first location), as perf script names leaves.
    samples, leaves, symbols, resources = 0, {}, {}, []
    for rp in request.resource_profiles:
        attrs = {kv.key: json_format.MessageToDict(kv.value) for kv in rp.resource.attributes}
        resource = {"attributes": attrs, "profiles": []}
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                string_index(p.sample_type.type_strindex, "sample_type")
                string_index(p.sample_type.unit_strindex, "sample_type")
                kind = d.string_table[p.sample_type.type_strindex] + "/" + d.string_table[p.sample_type.unit_strindex]
                count = 0
                for s in p.samples:
                    check(0 <= s.stack_index < len(d.stack_table), "sample: stack index %d" % s.stack_index)
                    attribute_indices(s.attribute_indices, "sample")
                    check(len(s.timestamps_unix_nano) in (0, len(s.values)), "sample: %d values, %d timestamps" % (len(s.values), len(s.timestamps_unix_nano)))
                    check(all(p.time_unix_nano <= t < p.time_unix_nano + p.duration_nano for t in s.timestamps_unix_nano),
                          "sample: a timestamp outside its profile's time")
                    count += len(s.values)
                    stack = d.stack_table[s.stack_index] if 0 < s.stack_index < len(d.stack_table) else profiles.Stack()
                    name = symbol = "[unknown]"
                    if stack.location_indices:
                        loc = d.location_table[stack.location_indices[0]]
                        if loc.lines:
                            name = d.string_table[d.function_table[loc.lines[0].function_index].name_strindex]
                            symbol = d.string_table[d.function_table[loc.lines[-1].function_index].name_strindex]
                    leaves[kind + " " + name] = leaves.get(kind + " " + name, 0) + sum(s.values)
                    symbols[kind + " " + symbol] = symbols.get(kind + " " + symbol, 0) + len(s.values)
                samples += count
                resource["profiles"].append({"type": kind, "samples": count, "period": p.period})
        resources.append(resource)

    inlined = sum(1 for loc in d.location_table if len(loc.lines) > 1)
    print(json.dumps({"samples": samples, "resources": resources, "leaves": leaves, "symbols": symbols,
                      "inlinedLocations": inlined, "errors": errors[:20]}))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
