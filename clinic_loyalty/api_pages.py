"""The page of a paginated list (LimitOffsetPagination): `count`, the `next` and `previous` pages
as links that keep the filters, and the `results`."""

from rest_framework import serializers


def page_serializer(name: str, results: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A serializer class called `name` (its OpenAPI component) for a page of `results`."""
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": results(many=True),
    }
    page = type(name, (serializers.Serializer,), fields)
    page.__qualname__ = name
    return page
