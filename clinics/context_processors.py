from clinics.middleware import request_clinic


def clinic(request):
    return {"clinic": request_clinic(request)}
