# A small stand-in for the parts of nixpkgs' `lib` that infra/modules use, plus option types and
# a module evaluator, in builtins only (nixpkgs cannot be fetched where these tests run).
#
# What it does, like the NixOS module system: calls every module with { config, lib, pkgs, … },
# merges their definitions (mkIf, mkDefault/mkForce priorities, list concatenation, attribute
# sets merged by name, `lines` joined), rejects any option path not declared in options.nix,
# checks each definition against the declared type, reports conflicting definitions of a
# single-valued option, and passes the merged result back to the modules as `config`.
# What it does not: assertions/warnings of the real modules, freeform options (every option
# here is declared, so it is stricter than NixOS for freeform sets such as nix.settings,
# openssh.settings and serviceConfig), and anything nixpkgs' modules compute from these values.
let
  inherit (builtins) all any attrNames concatLists concatMap concatStringsSep elem filter foldl' genList head
    isAttrs isBool isFunction isInt isList isPath isString length listToAttrs mapAttrs match tail toJSON;

  # --- the lib functions the modules call --------------------------------------------------
  lib = rec {
    inherit mapAttrs;
    filterAttrs = pred: set:
      listToAttrs (concatMap (n: if pred n set.${n} then [{ name = n; value = set.${n}; }] else [ ]) (attrNames set));
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    concatMapStringsSep = sep: f: xs: concatStringsSep sep (map f xs);
    hasInfix = infix: s: match ".*${escapeRegex infix}.*" s != null;
    escapeRegex = s: builtins.replaceStrings
      [ "." "+" "*" "?" "(" ")" "[" "]" "{" "}" "|" "^" "$" "\\" ]
      [ "\\." "\\+" "\\*" "\\?" "\\(" "\\)" "\\[" "\\]" "\\{" "\\}" "\\|" "\\^" "\\$" "\\\\" ]
      s;
    drop = n: xs: if n <= 0 || xs == [ ] then xs else drop (n - 1) (tail xs);
    genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
  };

  # --- option types ---------------------------------------------------------------------------
  scalar = name: check: { kind = "scalar"; inherit name check; };
  types = rec {
    bool = scalar "boolean" isBool;
    str = scalar "string" isString;
    int = scalar "signed integer" isInt;
    positiveInt = scalar "positive integer" (v: isInt v && v > 0);
    port = scalar "16 bit unsigned integer" (v: isInt v && v >= 0 && v <= 65535);
    # An absolute path, or a path value (copied to the store when used, like agenix's `file`).
    # A path value, an absolute path string, or a package (which becomes its store path).
    path = scalar "path" (v: isPath v || (isString v && match "/.*" v != null) || package.check v);
    package = scalar "package" (v: isAttrs v && (v._type or null) == "package");
    enum = values: scalar "one of ${toJSON values}" (v: elem v values);
    strMatching = re: scalar "string matching ${toJSON re}" (v: isString v && match re v != null);
    either = a: b: scalar "${a.name} or ${b.name}" (v: conforms a v || conforms b v);
    lines = { kind = "lines"; name = "strings concatenated with \"\\n\""; check = isString; };
    listOf = elem: { kind = "list"; name = "list of ${elem.name}"; inherit elem; };
    attrsOf = elem: { kind = "attrs"; name = "attribute set of ${elem.name}"; inherit elem; };
    nullOr = elem: { kind = "nullOr"; name = "null or ${elem.name}"; inherit elem; };
    submodule = options: { kind = "submodule"; name = "submodule"; inherit options; };
  };
  # Whether a value is of a type, without merging (for `either`).
  conforms = t: v:
    if t.kind == "scalar" || t.kind == "lines" then t.check v
    else if t.kind == "nullOr" then v == null || conforms t.elem v
    else if t.kind == "list" then isList v && all (conforms t.elem) v
    else if t.kind == "attrs" then isAttrs v && all (n: conforms t.elem v.${n}) (attrNames v)
    else isAttrs v;
  mkOption = { type, default ? null, hasDefault ? default != null }:
    { _option = true; inherit type default hasDefault; };

  # --- evaluation ------------------------------------------------------------------------------
  showPath = p: concatStringsSep "." (map (s: if match "[A-Za-z_][A-Za-z0-9_'-]*" s != null then s else toJSON s) p);
  isSpecial = v: isAttrs v && v ? _type && elem v._type [ "if" "merge" "override" ];
  # mkIf/mkMerge/mkOverride -> [ { priority; value; } ]
  flatten = prio: v:
    if isSpecial v then
      (if v._type == "if" then (if v.condition then flatten prio v.content else [ ])
       else if v._type == "merge" then concatMap (flatten prio) v.contents
       else flatten v.priority v.content)
    else [{ priority = prio; value = v; }];
  resolve = defs:
    let
      flat = concatMap (flatten 100) defs;
      best = foldl' (m: d: if d.priority < m then d.priority else m) 9999 flat;
    in
    map (d: d.value) (filter (d: d.priority == best) flat);

  ok = value: { inherit value; errors = [ ]; };
  fail = value: errors: { inherit value errors; };

  evalType = path: type: defs:
    if type.kind == "scalar" || type.kind == "lines" then
      let
        bad = filter (d: !type.check d) defs;
        distinct = foldl' (acc: d: if elem d acc then acc else acc ++ [ d ]) [ ] defs;
      in
      if bad != [ ] then fail null [ "option `${showPath path}': ${toJSON (head bad)} is not a ${type.name}" ]
      else if type.kind == "lines" then ok (concatStringsSep "\n" defs)
      else if length distinct > 1
      then fail (head defs) [ "option `${showPath path}' has conflicting definitions: ${toJSON distinct}" ]
      else ok (head defs)
    else if type.kind == "nullOr" then
      let nonNull = filter (d: d != null) defs; in
      if nonNull == [ ] then ok null
      else if length nonNull < length defs
      then fail null [ "option `${showPath path}': null conflicts with ${toJSON (head nonNull)}" ]
      else evalType path type.elem nonNull
    else if type.kind == "list" then
      if !(all isList defs) then fail [ ] [ "option `${showPath path}': a definition is not a ${type.name}" ]
      else
        let
          items = genList
            (i: evalType (path ++ [ "[${toString i}]" ]) type.elem (resolve [ (builtins.elemAt (concatLists defs) i) ]))
            (length (concatLists defs));
        in
        fail (map (r: r.value) items) (concatMap (r: r.errors) items)
    else if type.kind == "attrs" then
      if !(all isAttrs defs) then fail { } [ "option `${showPath path}': a definition is not an ${type.name}" ]
      else
        let
          defsOf = n: resolve (concatMap (d: if d ? ${n} then [ d.${n} ] else [ ]) defs);
          # A name whose every definition is an mkIf false is absent, as in NixOS.
          names = filter (n: defsOf n != [ ]) (attrNames (foldl' (a: b: a // b) { } defs));
          each = listToAttrs (map (n: { name = n; value = evalType (path ++ [ n ]) type.elem (defsOf n); }) names);
        in
        fail (mapAttrs (_: r: r.value) each) (concatMap (n: each.${n}.errors) names)
    else if type.kind == "submodule" then evalSet path type.options defs
    else throw "unknown type kind ${type.kind}";

  # A set of options (a namespace, or a submodule's options).
  evalSet = path: decls: defs:
    if !(all isAttrs defs) then fail { } [ "`${showPath path}' is a set of options, not a value" ]
    else
      let
        unknown = concatMap (d: filter (n: !(decls ? ${n})) (attrNames d)) defs;
        each = mapAttrs
          (n: decl: evalDecl (path ++ [ n ]) decl (resolve (concatMap (d: if d ? ${n} then [ d.${n} ] else [ ]) defs)))
          decls;
      in
      fail (mapAttrs (_: r: r.value) each)
        (map (n: "unknown option `${showPath (path ++ [ n ])}'") unknown
          ++ concatMap (n: each.${n}.errors) (attrNames decls));

  evalDecl = path: decl: defs:
    if decl ? _option then
      (if defs == [ ] then
        (if decl.hasDefault then ok decl.default
         else ok (throw "option `${showPath path}' is used but not defined"))
       else evalType path decl.type defs)
    else evalSet path decl defs;

  # modules: functions or sets; a module's `imports` of paths are evaluated too, strings (e.g.
  # modulesPath profiles from nixpkgs) are only recorded.
  evalModules = { modules, specialArgs, declarations }:
    let
      args = specialArgs // { inherit lib config; };
      call = m: let v = if isFunction m then m args else if isPath m then call' (import m) else m; in v;
      call' = f: if isFunction f then f args else f;
      collect = ms: concatMap (m: let v = call m; in [ v ] ++ collect (filter (i: !isString i) (v.imports or [ ]))) ms;
      all' = collect modules;
      defs = map (v: builtins.removeAttrs v [ "imports" ]) all';
      result = evalSet [ ] declarations defs;
      config = result.value;
    in
    {
      inherit config;
      inherit (result) errors;
      externalImports = concatMap (v: filter isString (v.imports or [ ])) all';
    };
in
{ inherit lib types mkOption evalModules; }
