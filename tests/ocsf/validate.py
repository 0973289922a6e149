#!/usr/bin/env python3
"""validate.py - check OCSF events against the schema files of an OCSF
release (the layout of github.com/ocsf/ocsf-schema), for the tests.

    validate.py SCHEMA_DIR FILE.jsonl   # one event per line; exit 1 on any error

What is checked, for each event, against its class (class_uid): every
attribute is one the class (or the object) defines, after "extends",
"$include" and the profiles named in metadata.profiles; every required
attribute is there; "at_least_one" constraints hold; values have their
dictionary type (string, integer, long, float, boolean, timestamp,
object, array); enumerated *_id values are in their enum; class_uid,
category_uid and type_uid agree.  Errors are printed as
"line N: path: what".
"""
import json
import os
import sys

NUMERIC = {"integer_t", "long_t", "port_t", "timestamp_t"}
STRINGS = {"string_t", "bytestring_t", "datetime_t", "email_t", "file_hash_t",
           "file_name_t", "hostname_t", "ip_t", "mac_t", "process_name_t",
           "resource_uid_t", "subnet_t", "url_t", "username_t", "uuid_t"}


class Schema:
    def __init__(self, root):
        self.root = root
        self.dictionary = self.load("dictionary.json")
        self.attrs = self.dictionary["attributes"]
        self.categories = self.load("categories.json")["attributes"]
        self.objects = {}
        for name in os.listdir(os.path.join(root, "objects")):
            if name.endswith(".json"):
                d = self.load(os.path.join("objects", name))
                self.objects[d["name"]] = d
        self.classes = {}
        for dirpath, _, files in os.walk(os.path.join(root, "events")):
            for name in files:
                d = self.load(os.path.relpath(os.path.join(dirpath, name),
                                              root))
                self.classes[d["name"]] = d

    def load(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return json.load(f)

    def merged(self, defn, kind, profiles):
        """The attributes of a class or object, with what it extends and
        includes; a profile's only when the event names it."""
        attrs, constraints = {}, {}
        parent = defn.get("extends")
        if parent:
            base = (self.classes if kind == "class" else self.objects)[parent]
            attrs, constraints = self.merged(base, kind, profiles)
        for key, value in defn.get("attributes", {}).items():
            if key == "$include":
                for inc in value:
                    d = self.load(inc)
                    is_profile = inc.startswith("profiles/")
                    if is_profile and d.get("name") not in profiles:
                        continue
                    for k, v in d.get("attributes", {}).items():
                        attrs[k] = {**attrs.get(k, {}), **v}
                continue
            attrs[key] = {**attrs.get(key, {}), **value}
        constraints = {**constraints, **defn.get("constraints", {})}
        return attrs, constraints

    def category_of(self, d):
        while d is not None and "category" not in d:
            d = self.classes.get(d.get("extends"))
        return self.categories.get(d.get("category") if d else None,
                                   {}).get("uid", 0)

    def class_of(self, class_uid):
        for d in self.classes.values():
            if "uid" not in d or d["name"] == "base_event":
                continue
            cat = self.category_of(d)
            if cat * 1000 + d["uid"] == class_uid:
                return d, cat
        return None, None


class Checker:
    def __init__(self, schema, profiles):
        self.s = schema
        self.profiles = profiles
        self.errors = []

    def err(self, path, what):
        self.errors.append("%s: %s" % (path or "(event)", what))

    def check_defn(self, value, attrs, constraints, path):
        if not isinstance(value, dict):
            self.err(path, "not an object")
            return
        for key, v in value.items():
            if key not in attrs:
                self.err(path + "." + key if path else key,
                         "not an attribute of this class or object")
                continue
            self.check_attr(key, v, attrs[key], path + "." + key if path else key)
        for key, a in attrs.items():
            if a.get("requirement") == "required" and key not in value:
                self.err(path + "." + key if path else key, "required, absent")
        one = constraints.get("at_least_one")
        if one and not any(k in value for k in one):
            self.err(path, "needs at least one of " + ", ".join(one))
        just = constraints.get("just_one")
        if just and sum(k in value for k in just) != 1:
            self.err(path, "needs exactly one of " + ", ".join(just))

    def check_attr(self, key, value, local, path):
        d = {**self.s.attrs.get(key, {}), **local}
        if "type" not in d:
            self.err(path, "no type in the dictionary")
            return
        if d.get("is_array"):
            if not isinstance(value, list):
                self.err(path, "not an array")
                return
            for i, v in enumerate(value):
                self.check_value(key, v, d, "%s[%d]" % (path, i))
        else:
            self.check_value(key, value, d, path)

    def check_value(self, key, value, d, path):
        t = d["type"]
        if t in NUMERIC:
            if not isinstance(value, int) or isinstance(value, bool):
                self.err(path, "not an integer (%s)" % t)
                return
        elif t == "float_t":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self.err(path, "not a number")
        elif t == "boolean_t":
            if not isinstance(value, bool):
                self.err(path, "not a boolean")
        elif t in STRINGS:
            if not isinstance(value, str):
                self.err(path, "not a string (%s)" % t)
        elif t == "json_t":
            pass
        elif t == "object":
            if not isinstance(value, dict):
                self.err(path, "not an object")
        elif t in self.s.objects:
            attrs, constraints = self.s.merged(self.s.objects[t], "object",
                                               self.profiles)
            self.check_defn(value, attrs, constraints, path)
            return
        else:
            self.err(path, "unknown type " + t)
            return
        if key in ("class_uid", "category_uid", "type_uid"):
            return	# the schema server makes these enums: checked below
        enum = {**self.s.attrs.get(key, {}).get("enum", {}),
                **d.get("enum", {})}
        if enum and str(value) not in enum:
            self.err(path, "%r is not in its enum" % (value,))


def check_event(schema, ev):
    if not isinstance(ev, dict):
        return ["(event): not an object"]
    defn, cat = schema.class_of(ev.get("class_uid"))
    if defn is None:
        return ["class_uid: %r is no class" % (ev.get("class_uid"),)]
    profiles = ev.get("metadata", {}).get("profiles", [])
    c = Checker(schema, profiles if isinstance(profiles, list) else [])
    attrs, constraints = schema.merged(defn, "class", c.profiles)
    c.check_defn(ev, attrs, constraints, "")
    if ev.get("category_uid") != cat:
        c.err("category_uid", "%r, the class's is %d" % (ev.get("category_uid"), cat))
    act = ev.get("activity_id")
    if isinstance(act, int) and ev.get("type_uid") != ev["class_uid"] * 100 + act:
        c.err("type_uid", "not class_uid * 100 + activity_id")
    for p in c.profiles:
        if not os.path.exists(os.path.join(schema.root, "profiles", p + ".json")):
            c.err("metadata.profiles", "no profile " + p)
    return c.errors


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    schema = Schema(sys.argv[1])
    bad = 0
    n = 0
    with open(sys.argv[2]) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            try:
                ev = json.loads(line)
            except ValueError as e:
                print("line %d: not JSON: %s" % (lineno, e))
                bad += 1
                continue
            for e in check_event(schema, ev):
                print("line %d: %s" % (lineno, e))
                bad += 1
    print("%d events, %d errors" % (n, bad))
    return 1 if bad or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
