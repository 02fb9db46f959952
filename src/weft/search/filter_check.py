"""Checks parsed OData expressions against an index definition, as Azure does.

Unknown fields, fields without the needed attribute, type mismatches, and lambda misuse
are rejected with Azure's messages before anything runs.
"""
from __future__ import annotations

import math

from weft.errors import InvalidInput
from weft.search import filter_ast as ast
from weft.search.schema import IndexDefinition, LeafField

NUMERIC = ("Edm.Int32", "Edm.Int64", "Edm.Double")


def _invalid(message: str, parameter: str) -> InvalidInput:
    return InvalidInput(f"Invalid expression: {message}\r\nParameter name: {parameter}")


class ExpressionChecker:
    def __init__(self, definition: IndexDefinition):
        self.definition = definition
        self.leaves = definition.leaf_map()  # read only

    # ---- paths ----------------------------------------------------------------------
    def _field(self, path: str, parameter: str):
        f = self.definition.field_at(path)
        if f is None:
            raise _invalid(f"Could not find a property named '{path.split('/')[-1]}' on type 'search.document'.", parameter)
        return f

    def leaf_for(self, target, env: dict[str, str], parameter: str) -> LeafField:
        path = self.path_of(target, env)
        f = self._field(path, parameter)
        if f.is_complex:
            raise _invalid(f"The field '{path}' is a complex field and cannot be used here.", parameter)
        return self.leaves[path]

    def path_of(self, target, env: dict[str, str]) -> str:
        if isinstance(target, ast.FieldPath):
            return target.dotted
        if isinstance(target, ast.RangeVariable):
            base = env[target.name]
            return "/".join([base, *target.parts]) if target.parts else base
        raise TypeError(target)

    # ---- $filter ------------------------------------------------------------------------
    def check_filter(self, expr: ast.Expr) -> None:
        self._check(expr, {}, lambda_depth=0)

    def _check(self, e, env: dict[str, str], lambda_depth: int) -> None:
        p = "$filter"
        if isinstance(e, (ast.And, ast.Or)):
            self._check(e.left, env, lambda_depth)
            self._check(e.right, env, lambda_depth)
        elif isinstance(e, ast.Not):
            self._check(e.operand, env, lambda_depth)
        elif isinstance(e, ast.BoolConstant):
            pass
        elif isinstance(e, ast.BoolField):
            leaf = self._filter_leaf(e.target, env, lambda_depth)
            if leaf.type != "Edm.Boolean":
                raise _invalid(f"The field '{leaf.path}' of type '{leaf.type}' cannot be used as a boolean expression.", p)
        elif isinstance(e, ast.Comparison):
            self._check_comparison(e, env, lambda_depth)
        elif isinstance(e, ast.SearchIn):
            leaf = self._filter_leaf(e.target, env, lambda_depth)
            if leaf.type != "Edm.String":
                raise _invalid(f"search.in can only be used on string fields; '{leaf.path}' is of type '{leaf.type}'.", p)
        elif isinstance(e, ast.Lambda):
            path = self.path_of(e.collection, env)
            if isinstance(e.collection, ast.RangeVariable) and e.collection.name not in env:
                raise _invalid(f"The range variable '{e.collection.name}' is not defined.", p)
            f = self._field(path, p)
            if not f.is_collection:
                raise _invalid(f"The field '{path}' is not a collection; any/all can only be applied to collections.", p)
            if not f.is_complex and not f.filterable:
                raise _invalid(f"The field '{path}' is not a filterable field. Only filterable fields can be used in filter expressions.", p)
            if e.predicate is not None:
                if e.variable in env:
                    raise _invalid(f"The range variable '{e.variable}' is already defined.", p)
                self._check_lambda_body(e.predicate, e.variable)
                self._check(e.predicate, {**env, e.variable: path}, lambda_depth + 1)
        elif isinstance(e, ast.IsMatch):
            if lambda_depth:
                raise _invalid("search.ismatch and search.ismatchscoring cannot be used inside a lambda expression.", p)
            for name in e.fields or ():
                leaf = self.leaves.get(name)
                if leaf is None or not leaf.field.searchable:
                    raise _invalid(f"The field '{name}' in search.ismatch is not a searchable field.", p)
            if e.query_type not in (None, "simple", "full") or e.search_mode not in (None, "any", "all"):
                raise _invalid("search.ismatch accepts 'simple' or 'full' and 'any' or 'all'.", p)
        elif isinstance(e, ast.GeoIntersects):
            leaf = self._filter_leaf(e.target, env, lambda_depth)
            if leaf.type != "Edm.GeographyPoint":
                raise _invalid(f"geo.intersects needs a field of type Edm.GeographyPoint; '{leaf.path}' is '{leaf.type}'.", p)
            if len(e.polygon) < 4 or e.polygon[0] != e.polygon[-1]:
                raise _invalid("A polygon needs at least 4 points and its first point must be repeated as its last.", p)
        else:  # pragma: no cover
            raise _invalid("Unsupported expression.", p)

    def _check_lambda_body(self, predicate, variable: str) -> None:
        """A lambda body may reference only its own range variable."""
        for node in _walk(predicate):
            if isinstance(node, ast.FieldPath):
                raise _invalid(
                    f"Invalid lambda expression. The body of a lambda can only reference its range variable '{variable}'; found '{node.dotted}'.",
                    "$filter",
                )

    def _filter_leaf(self, target, env, lambda_depth) -> LeafField:
        leaf = self.leaf_for(target, env, "$filter")
        if not leaf.field.filterable:
            raise _invalid(
                f"The field '{leaf.path}' is not a filterable field. Only filterable fields can be used in filter expressions.", "$filter"
            )
        if leaf.in_collection and not isinstance(target, ast.RangeVariable):
            raise _invalid(
                f"The field '{leaf.path}' is a collection or is inside a collection; use any() or all() to filter on it.", "$filter"
            )
        return leaf

    def _check_comparison(self, e: ast.Comparison, env, lambda_depth) -> None:
        p = "$filter"
        c = e.right
        if isinstance(e.left, ast.GeoDistance):
            leaf = self._filter_leaf(e.left.target, env, lambda_depth)
            if leaf.type != "Edm.GeographyPoint":
                raise _invalid(f"geo.distance needs a field of type Edm.GeographyPoint; '{leaf.path}' is '{leaf.type}'.", p)
            if c.kind not in ("int", "float"):
                raise _invalid("geo.distance can only be compared with a number.", p)
            return
        leaf = self._filter_leaf(e.left, env, lambda_depth)
        t = leaf.type
        if c.kind == "null":
            if e.op not in ("eq", "ne"):
                raise _invalid(f"The operator '{e.op}' cannot be used with null; only 'eq' and 'ne' can.", p)
            return
        ok = {
            "Edm.String": ("string",),
            "Edm.Int32": ("int", "float"),
            "Edm.Int64": ("int", "float"),
            "Edm.Double": ("int", "float"),
            "Edm.Boolean": ("bool",),
            "Edm.DateTimeOffset": ("datetime",),
            "Edm.GeographyPoint": (),
        }[t]
        if c.kind not in ok:
            raise _invalid(f"A value of kind '{c.kind}' cannot be compared with the field '{leaf.path}' of type '{t}'.", p)
        if t in ("Edm.Int32", "Edm.Int64") and c.kind == "float" and (math.isnan(c.value) or math.isinf(c.value)):
            raise _invalid(f"NaN and INF cannot be compared with the integer field '{leaf.path}'.", p)
        if t == "Edm.Boolean" and e.op not in ("eq", "ne"):
            raise _invalid("Boolean fields can only be compared with 'eq' or 'ne'.", p)

    # ---- $orderby / $select / searchFields -----------------------------------------------------
    def check_orderby(self, clauses: list[ast.OrderByClause]) -> None:
        p = "$orderby"
        for clause in clauses:
            t = clause.target
            if isinstance(t, ast.SearchScore):
                continue
            if isinstance(t, ast.GeoDistance):
                if not isinstance(t.target, ast.FieldPath):
                    raise _invalid("geo.distance in $orderby must name a field.", p)
                leaf = self.leaf_for(t.target, {}, p)
                if leaf.type != "Edm.GeographyPoint":
                    raise _invalid(f"geo.distance needs a field of type Edm.GeographyPoint; '{leaf.path}' is '{leaf.type}'.", p)
                if not leaf.field.sortable:
                    raise _invalid(f"'{leaf.path}' is not a sortable field. Only sortable fields can be used in $orderby.", p)
                continue
            leaf = self.leaf_for(t, {}, p)
            if not leaf.field.sortable or leaf.in_collection:
                raise _invalid(f"'{leaf.path}' is not a sortable field. Only sortable fields can be used in $orderby.", p)

    def check_select(self, paths: list[ast.FieldPath] | None) -> list[str] | None:
        if paths is None:
            return None
        out = []
        for path in paths:
            f = self._field(path.dotted, "$select")
            if not f.is_complex and not f.retrievable:
                raise _invalid(f"The field '{path.dotted}' is not retrievable and cannot be selected.", "$select")
            out.append(path.dotted)
        return out

    def check_search_fields(self, names: list[str]) -> list[str]:
        for name in names:
            leaf = self.leaves.get(name)
            if leaf is None:
                f = self.definition.field_at(name)
                if f is None:
                    raise InvalidInput(f"Unknown field '{name}' in search field list.\r\nParameter name: searchFields")
            if leaf is None or not leaf.field.searchable or leaf.field.is_vector:
                raise InvalidInput(f"The field '{name}' in the search field list is not searchable.\r\nParameter name: searchFields")
        return names


def _walk(e):
    yield e
    for child in getattr(e, "__dataclass_fields__", {}):
        value = getattr(e, child)
        if isinstance(value, (tuple, list)):
            for v in value:
                if hasattr(v, "__dataclass_fields__"):
                    yield from _walk(v)
        elif hasattr(value, "__dataclass_fields__"):
            yield from _walk(value)
