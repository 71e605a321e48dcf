"""The body every create, update and delete endpoint of a settings record shares: validate the
input, call the one service with the acting user, answer with the record (201 for a creation,
204 for a deletion). The service records the change in the settings audit log."""

from collections.abc import Callable

from rest_framework import serializers, status
from rest_framework.response import Response


def created(request, *, data: type[serializers.Serializer], create: Callable,
            output: type[serializers.Serializer]) -> Response:
    serializer = data(data=request.data)
    serializer.is_valid(raise_exception=True)
    return Response(output(create(actor=request.user, **serializer.validated_data)).data,
                    status=status.HTTP_201_CREATED)


def updated(request, *, data: type[serializers.Serializer], update: Callable,
            output: type[serializers.Serializer], **target) -> Response:
    """A PATCH: only the fields given change; `target` names the record for the service."""
    serializer = data(data=request.data, partial=True)
    serializer.is_valid(raise_exception=True)
    return Response(output(update(actor=request.user, **target, **serializer.validated_data)).data)


def deleted(request, *, delete: Callable, **target) -> Response:
    delete(actor=request.user, **target)
    return Response(status=status.HTTP_204_NO_CONTENT)
