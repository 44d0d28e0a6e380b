rootProject.name = "parkline"
