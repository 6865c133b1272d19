# The "Product reactions" proxy moved to the insights app (insights.0001 keeps its content
# type and permissions). A proxy has no table, so this only changes the migration state.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('emotion', '0003_observation_created_at_index'),
        ('insights', '0001_initial'),
    ]

    operations = [
        migrations.DeleteModel(name='ProductReaction'),
    ]
