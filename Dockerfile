FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=clinic_loyalty.settings.production

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 app \
    && mkdir -p /var/lib/clinic-loyalty \
    && chown app:app /var/lib/clinic-loyalty

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .

# The key only lets the production settings load for the build; the real one comes at run time.
RUN SECRET_KEY=build-only-not-a-secret python manage.py collectstatic --noinput \
    && if [ -d locale ]; then SECRET_KEY=build-only-not-a-secret python manage.py compilemessages; fi

USER app
EXPOSE 8000
CMD ["gunicorn", "clinic_loyalty.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-"]
