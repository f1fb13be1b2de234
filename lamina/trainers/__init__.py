from lamina.trainers.trainer import Trainer
