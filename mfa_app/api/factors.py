"""The signed-in user's factors and recovery codes: list, rename, set primary, remove, regenerate.

Removing a factor and regenerating recovery codes need a recent proof of identity, as on the
security page; renaming and choosing the primary factor do not.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import services
from ..flows import manage
from ..models import FactorModel
from .base import ManageView
from .responses import InvalidRequest
from .serializers import factor_json

# Longer than any name may be, so that ``rename_factor`` explains the limit (``invalid_name``).
NAME_INPUT_MAX_LENGTH = 1000


class FactorListView(ManageView):
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"factors": [factor_json(d) for d in services.list_factors(self.user)]})


class FactorMixin:
    user: object

    def device(self, factor_type: str, pk: str) -> FactorModel:
        """One of the user's own factors; anyone else's is ``factor_not_found``."""
        return manage.own_factor(self.user, factor_type, pk)


class FactorView(FactorMixin, ManageView):
    http_method_names = ["get", "head", "patch", "delete"]

    def get(self, request: HttpRequest, factor_type: str, pk: str) -> JsonResponse:
        return JsonResponse({"factor": factor_json(self.device(factor_type, pk))})

    def patch(self, request: HttpRequest, factor_type: str, pk: str) -> JsonResponse:
        device = self.device(factor_type, pk)
        name = self.data.get("name")
        if not isinstance(name, str) or len(name) > NAME_INPUT_MAX_LENGTH:
            raise InvalidRequest(field="name")
        return JsonResponse({"factor": factor_json(manage.rename(self.user, device, name))})

    def delete(self, request: HttpRequest, factor_type: str, pk: str) -> HttpResponse:
        manage.remove(request, factor_type, pk)
        return HttpResponse(status=204)


class PrimaryFactorView(FactorMixin, ManageView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, factor_type: str, pk: str) -> JsonResponse:
        device = manage.make_primary(self.user, self.device(factor_type, pk))
        return JsonResponse({"factor": factor_json(device)})


class RecoveryCodesView(ManageView):
    http_method_names = ["get", "head", "post"]

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(
            {
                "enabled": self.policy.recovery_codes_enabled,
                "remaining": services.recovery_codes_remaining(self.user),
            }
        )

    def post(self, request: HttpRequest) -> JsonResponse:
        """Generate a new set: every earlier code stops working. Shown this once."""
        codes = manage.regenerate_recovery_codes(request)
        return JsonResponse({"codes": codes}, status=201)
