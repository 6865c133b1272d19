from django.db import migrations, models


def mark_gaps(apps, schema_editor):
    """Observations stored before the field existed: an empty label meant no face found."""
    apps.get_model("emotion", "EmotionObservation").objects.filter(label="").update(outcome="no_face")


class Migration(migrations.Migration):
    dependencies = [
        ("emotion", "0004_move_product_reactions_to_insights"),
    ]

    operations = [
        migrations.AddField(
            model_name="emotionobservation",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("stored", "Stored"),
                    ("no_face", "No face"),
                    ("stale", "Stale"),
                    ("low_quality", "Low quality"),
                    ("withdrawn", "Withdrawn"),
                    ("several_faces", "Several faces"),
                    ("client_reported", "Client-reported"),
                ],
                default="stored",
                max_length=16,
            ),
        ),
        migrations.RunPython(mark_gaps, migrations.RunPython.noop),
    ]
